//! `onair config check`: load a file the way `serve` would and show the effective settings.

use std::path::Path;

use crate::config::Config;

pub fn check(file: Option<&Path>) -> anyhow::Result<()> {
    let config = Config::load(file)?;
    match file {
        Some(file) => println!("{} is valid; effective settings:", file.display()),
        None => println!("no config file given; effective settings (defaults plus environment):"),
    }
    println!("{config:#?}");
    Ok(())
}
