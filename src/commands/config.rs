//! `tgcollector config check`: the effective settings, as the gateway would see them.
//!
//! It loads the file and the `TGC_*` environment exactly as `serve` will, so an operator can
//! check a deployment before starting it. Secrets are masked by the settings' own rendering.

use std::path::Path;
use std::process::ExitCode;

use tgc_common::Settings;

pub fn check(config: &Path) -> ExitCode {
    match Settings::load_with_process_env(config) {
        Ok(settings) => {
            print!("{}", settings.render_masked());
            for (path, mode) in settings.secrets_readable_by_others() {
                eprintln!(
                    "warning: {} holds secrets and others may read it (mode {mode:o}): chmod 600 {}",
                    path.display(),
                    path.display()
                );
            }
            eprintln!("configuration OK: {}", settings.config_path.display());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}
