"""The credit office console (信用办控制台): dashboard statistics and department assessment."""
