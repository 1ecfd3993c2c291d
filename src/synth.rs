//! stub
use std::path::PathBuf;
/// stub
#[derive(clap::Args, Debug, Clone)]
pub struct SynthOptions {
    /// out
    #[arg(long)]
    pub out: PathBuf,
}
/// stub
pub fn write(_o: &SynthOptions) -> crate::Result<u64> {
    todo!()
}
