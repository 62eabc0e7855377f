//! `imagery`: serve the image APIs, or administer identities from the command line.

use clap::{Parser, Subcommand};
use imagery_server::config::{Config, ConfigArgs};

#[derive(Parser)]
#[command(
    name = "imagery",
    version,
    about = "A virtual-machine image service speaking Glance, Nova, Huawei IMS, Azure ARM and Yandex Compute"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the service with its listeners (first start creates an admin).
    Serve(ConfigArgs),
    /// Create the default domain, roles, admin project and admin user if missing (idempotent).
    Bootstrap {
        #[command(flatten)]
        config: ConfigArgs,
        /// Password for the admin user (random when creating it and not given).
        #[arg(long, env = "IMAGERY_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
    },
    /// Manage projects, users, roles and access keys without a running server.
    Admin {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(subcommand)]
        action: imagery_server::admin::AdminCommand,
    },
}

/// Blocking threads run catalog calls (a handful of SQLite connections) and file
/// I/O; more of them than this only wait on those, while each costs a stack and
/// an allocator arena.
const MAX_BLOCKING_THREADS: usize = 32;

/// glibc gives every thread that allocates its own arena (up to 8 per core), and
/// freed memory stays in them: a burst of requests leaves the resident size high.
/// Two arenas keep it close to what is in use, at no measurable cost here.
///
/// glibc also raises its mmap threshold each time a large block is freed, up to
/// 32 MiB, after which argon2's 19 MiB blocks come from the arenas and stay
/// resident: 48 wrong-password logins took the server from 50 to 431 MiB with
/// only two hashes ever alive at once. A fixed threshold keeps such blocks in
/// their own mappings, returned on free (73 MiB peak, 35 MiB after).
const MMAP_THRESHOLD: i32 = 4 << 20;

fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(MAX_BLOCKING_THREADS).build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => {
                let config = Config::load(&args)?;
                imagery_server::serve::init_logging(&config);
                imagery_server::listener::raise_open_file_limit();
                let running = imagery_server::start(config).await?;
                running.wait_for_shutdown_signal().await
            }
            Command::Bootstrap { config, admin_password } => {
                let config = Config::load(&config)?;
                imagery_server::admin::bootstrap(&config, admin_password).await
            }
            Command::Admin { config, action } => {
                let config = Config::load(&config)?;
                imagery_server::admin::run(&config, action).await
            }
        }
    })
}
