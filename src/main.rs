use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    awards::telemetry::init();
    match awards::cli::run(awards::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
