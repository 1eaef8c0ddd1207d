//! The AzureML task binary amlops-deploy.
