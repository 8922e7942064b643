"""Tip-offs (举报): the public reports dishonest behaviour; the responsible department
handles it; the submitter follows it with a tracking code."""
