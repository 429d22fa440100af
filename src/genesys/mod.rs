//! The Genesys Cloud side: API models and the HTTP client. Placeholder until it lands.
