"""The Calypso Pay API as this project speaks it: signed HTTP client, wire models, error tree,
currencies. No Temporal here: activities, the CLI and the tests all use it."""
