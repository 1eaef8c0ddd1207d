//! Data drift metrics as Azure ML model monitoring defines them, streamed over CSV and Parquet.
