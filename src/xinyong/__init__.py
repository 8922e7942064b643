"""xinyong (信用): a city's personal public credit information platform."""

__version__ = "0.1.0"
