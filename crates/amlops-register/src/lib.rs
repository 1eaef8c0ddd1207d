//! The AzureML task binary amlops-register.
