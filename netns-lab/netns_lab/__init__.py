"""pykeepalived's network-namespace lab."""
