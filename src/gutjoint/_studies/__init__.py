"""Questions asked of the model: scenarios, simulations, attribution."""
