"""The public portal (信用网站): disclosure search and the credit office's articles."""
