"""The credit office's figures (dashboard statistics, mandatory checks, measures applied)
and the departments' assessment (考核)."""
