"""Exchange with the provincial/national platform (DOMAIN §15). For now only the outbox."""
