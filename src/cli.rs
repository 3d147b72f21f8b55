//! The command line: serve, migrate, create-admin, import-employees, verify-audit.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use secrecy::SecretString;

use crate::auth::Hasher;
use crate::config::{DatabaseSettings, HashSettings, Settings};
use crate::domain::account::check_password;
use crate::domain::import::{validate_employee_no, validate_name, EmployeeCsv};
use crate::startup::Application;
use crate::store::{audit, users};

#[derive(Debug, Parser)]
#[command(name = "awards", version, about = "Staff award service: nominations, screening, voting, winners")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (applies pending migrations first).
    Serve(Settings),
    /// Apply pending migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseSettings,
    },
    /// Create an admin, or make an existing account an admin with a new password.
    CreateAdmin {
        #[command(flatten)]
        database: DatabaseSettings,
        #[command(flatten)]
        hashing: HashSettings,
        #[arg(long)]
        employee_no: String,
        #[arg(long)]
        name: String,
        /// The password; read from standard input when absent.
        #[arg(long, env = "AWARDS_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Import employees from a CSV file (employee_no,name,branch_code[,roles]).
    ImportEmployees {
        #[command(flatten)]
        database: DatabaseSettings,
        file: PathBuf,
        /// Where to write the activation codes of new accounts (CSV).
        #[arg(long)]
        codes_out: PathBuf,
    },
    /// Recompute the audit hash chain; exits 1 if it is broken.
    VerifyAudit {
        #[command(flatten)]
        database: DatabaseSettings,
    },
    /// Write a consistent copy of the live SQLite database to FILE (a new
    /// file); on PostgreSQL use pg_dump.
    Backup {
        #[command(flatten)]
        database: DatabaseSettings,
        file: PathBuf,
    },
    /// Run a whole campaign at real size into an empty database: 300,000
    /// employees, nominations, two rounds, about 1.5 million votes, 310 winners.
    Demo(crate::demo::DemoArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(settings) => serve(settings).await,
        Command::Migrate { database } => {
            let applied = blocking(move || {
                let pool = crate::db::pool(&database.database_url, 1)?;
                let mut conn = pool.get()?;
                crate::db::migrate(&mut conn)
            })
            .await?;
            println!("applied {} migration(s){}", applied.len(), if applied.is_empty() { "" } else { ":" });
            for name in applied {
                println!("  {name}");
            }
            Ok(())
        }
        Command::CreateAdmin { database, hashing, employee_no, name, password } => {
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            validate_employee_no(&employee_no).map_err(anyhow::Error::msg)?;
            validate_name(&name).map_err(anyhow::Error::msg)?;
            check_password(&password, &employee_no).map_err(|m| anyhow::anyhow!("the password {m}"))?;
            let user = blocking(move || {
                let pool = crate::db::pool(&database.database_url, 1)?;
                let mut conn = pool.get()?;
                crate::db::migrate(&mut conn)?;
                let hash = Hasher::new(&hashing)?.hash_now(&SecretString::from(password))?;
                users::upsert_admin(&mut conn, &employee_no, &name, &hash).map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await?;
            println!("admin {} ({}) is ready, id {}", user.employee_no, user.name, user.id);
            Ok(())
        }
        Command::ImportEmployees { database, file, codes_out } => import(database, file, codes_out).await,
        Command::Backup { database, file } => {
            let shown = file.display().to_string();
            blocking(move || {
                let mut conn = database.database_url.connect().map_err(|e| {
                    anyhow::anyhow!("cannot connect to {}: {e}", database.database_url.redacted())
                })?;
                crate::db::backup(&mut conn, &file)
            })
            .await?;
            println!("backup written to {shown}");
            Ok(())
        }
        Command::Demo(args) => {
            blocking(move || {
                let outcome = crate::demo::run(&args)?;
                crate::demo::print_summary(&args, &outcome);
                Ok(())
            })
            .await
        }
        Command::VerifyAudit { database } => {
            let result = blocking(move || {
                let pool = crate::db::pool(&database.database_url, 1)?;
                let mut conn = pool.get()?;
                Ok(audit::verify(&mut conn)?)
            })
            .await?;
            match result.first_broken {
                None => {
                    println!("audit chain ok: {} events verified", result.events);
                    Ok(())
                }
                Some(broken) => {
                    println!(
                        "audit chain BROKEN at event {}: {} ({} events verified before it)",
                        broken.id, broken.reason, result.events
                    );
                    // 1 means broken; failing to check at all exits 2 (see main).
                    std::process::exit(1);
                }
            }
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    tracing::info!(settings = ?settings, "starting");
    let (app, first_admin) = Application::build(settings.clone()).await?;
    if let Some(admin) = first_admin {
        // Printed once, to the terminal only: the database holds just its hash.
        println!("\n  First admin created. Sign in once and change the password:");
        println!("    employee_no: {}", admin.employee_no);
        println!("    password:    {}\n", admin.password);
    }
    tracing::info!(bind = %settings.bind, port = app.port(), "listening");
    app.run_until_stopped().await?;
    Ok(())
}

async fn import(database: DatabaseSettings, file: PathBuf, codes_out: PathBuf) -> anyhow::Result<()> {
    let report = blocking(move || {
        let input =
            std::fs::File::open(&file).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
        // Opened before anything is written: codes that cannot be saved must not be made.
        let codes_file = open_private(&codes_out)?;
        let rows = EmployeeCsv::new(std::io::BufReader::new(input))
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let pool = crate::db::pool(&database.database_url, 1)?;
        let mut conn = pool.get()?;
        crate::db::migrate(&mut conn)?;
        let report = users::import(&mut conn, None, rows).map_err(|e| anyhow::anyhow!("{e}"))?;
        write_codes(codes_file, &report.activation_codes)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", codes_out.display()))?;
        Ok(report)
    })
    .await?;
    for rejection in &report.rejected {
        eprintln!("line {}: {}", rejection.line, rejection.message);
    }
    println!(
        "created {}, updated {}, unchanged {}, rejected {}",
        report.created,
        report.updated,
        report.unchanged,
        report.rejected.len()
    );
    Ok(())
}

/// Opens a file readable by the owner only, whether new or not: codes are credentials.
fn open_private(path: &PathBuf) -> anyhow::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

fn write_codes(file: std::fs::File, codes: &[users::ActivationCode]) -> anyhow::Result<()> {
    let mut out = csv::Writer::from_writer(std::io::BufWriter::new(file));
    out.write_record(["employee_no", "activation_code"])?;
    for code in codes {
        out.write_record([&code.employee_no, &code.code])?;
    }
    out.flush()?;
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    eprint!("password: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password given on standard input");
    Ok(password)
}

/// Runs blocking work (diesel, argon2) off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    actix_web::rt::task::spawn_blocking(f).await?
}
