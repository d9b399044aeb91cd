"""Importers: configuration from other tools, converted into crmctl manifests."""
