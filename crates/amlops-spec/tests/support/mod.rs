pub mod fixed;
pub mod oracle;
