"""All output crmctl shows: text (with colour), markdown, JSON. Fed by plain data."""
