//! Credentials and a typed Azure Machine Learning REST client with retries, long-running operations and uploads.
