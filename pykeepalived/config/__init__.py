"""Configuration: YAML and keepalived.conf into one frozen model, with positioned diagnostics (pure)."""
