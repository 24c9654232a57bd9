"""The Salesforce client: simple-salesforce behind one adapter (client), the `OrgClient` contract the areas
type against (protocol), opening an org by alias (orgs) and credentials in the keyring (credentials)."""
