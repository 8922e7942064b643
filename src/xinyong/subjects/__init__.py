"""Subjects (信用主体): persons and organisations, their links and key-group tags."""
