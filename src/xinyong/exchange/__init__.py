"""Exchange with the provincial/national platform (DOMAIN §15): push of the outbox
(the outbox itself, written where records change, is :mod:`xinyong.changes.outbox`), pull,
receive, and the list feed for the platforms below."""
