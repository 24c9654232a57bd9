"""The Salesforce client: simple-salesforce behind one adapter (client), opening an org by alias (orgs) and
credentials in the keyring (credentials)."""
