//! The AzureML task binary amlops-gate.
