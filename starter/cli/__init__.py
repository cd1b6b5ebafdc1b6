"""The `payouts` command line (entry point: `starter.cli.main:main`)."""
