"""The long-running processes and what they read at start: settings, logging, the Temporal
client and its data converter, the worker, the webhook receiver."""
