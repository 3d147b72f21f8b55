use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    awards::telemetry::init();
    match awards::cli::run(awards::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // 2, so that `verify-audit` can tell "broken" (1) from "could not check".
            std::process::ExitCode::from(2)
        }
    }
}
