"""Identity (实名): identity numbers, credit codes, masking, blind index and encryption."""
