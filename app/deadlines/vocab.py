"""The words rule files and incident facts share: sectors, data categories, fact times, clock starts and
regions."""

from __future__ import annotations

# -- vocabularies ---------------------------------------------------------------------------------------------

SECTORS: dict[str, str] = {
    "sec_registrant": "files reports with the SEC (Form 8-K Item 1.05)",
    "nydfs_licensee": "covered entity under 23 NYCRR 500 (NYDFS)",
    "hipaa_entity": "HIPAA covered entity",
    "hipaa_business_associate": "HIPAA business associate",
    "bank": "US banking organisation (OCC, Federal Reserve, FDIC)",
    "bank_service_provider": "service provider to a US bank",
    "ftc_financial_institution": "non-bank financial institution under the FTC Safeguards Rule",
    "phr_vendor": "personal health record vendor (FTC Health Breach Notification Rule)",
    "telecom_carrier": "telecom carrier, interconnected VoIP or TRS provider (FCC CPNI)",
    "us_critical_infrastructure": "CIRCIA covered entity",
    "nis2_entity": "NIS2 essential or important entity",
    "dora_financial_entity": "EU financial entity under DORA",
    "ch_critical_infrastructure": "operator listed in Swiss ISA Art. 74b",
    "cn_cii_operator": "Chinese critical information infrastructure operator",
    "difc_entity": "established in the DIFC",
    "adgm_entity": "established in the ADGM",
    "processor": "processes the data for another controller (vendor, service provider)",
    "health_facility": "California licensed clinic, health facility, home health or hospice",
    "public_agency": "public agency (city, county, state)",
}
CATEGORIES: dict[str, str] = {
    "health": "health or medical information, PHI",
    "payment_card": "payment card numbers or card data",
    "financial": "bank accounts, financial records",
    "credentials": "authentication data: passwords, tokens, security questions",
    "government_id": "SSN, passport, driver's licence, tax id",
    "sensitive": "special-category data (race, religion, politics, sex life, union membership...)",
    "biometric": "biometric data",
    "genetic": "genetic data",
    "children": "data of children or adolescents",
    "contact": "names, emails, phone numbers, addresses",
    "cpni": "telecom customer proprietary network information",
    "large_scale": "the breach is large scale (a flag used by the Brazilian rules)",
    "wrongful_purpose": "the leak may have been caused by an act for a wrongful purpose: unauthorized access, "
    "insider theft, ransomware (a flag used by the Japanese rules)",
}
FACT_TIMES: dict[str, str] = {
    "detected": "first detection: the earliest plausible discovery time",
    "aware": "reasonable certainty that personal data was compromised (GDPR 'aware')",
    "breach_determined": "the organisation concluded a breach occurred (state laws, NYDFS, bank 36h)",
    "determination": "SEC materiality determination (starts the Form 8-K clock)",
    "confirmed": "breach confirmed and the required information ascertainable (Rhode Island)",
    "scoped": "scope identified (Maine, Utah)",
    "classified": "incident classified as major (DORA)",
    "ransom_paid": "extortion payment made (NYDFS, CIRCIA)",
    "new_information": "information missing from the initial 8-K became available (8-K/A)",
}
START_EVENTS = (
    "awareness",
    "discovery",
    "determination",
    "materiality",
    "confirmation",
    "classification",
    "payment",
    "scope",
    "new_information",
    "year_end",
)
EU_MEMBER_STATES: dict[str, str] = {
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "HR": "Europe/Zagreb",
    "CY": "Asia/Nicosia",
    "CZ": "Europe/Prague",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "DE": "Europe/Berlin",
    "GR": "Europe/Athens",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IT": "Europe/Rome",
    "LV": "Europe/Riga",
    "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg",
    "MT": "Europe/Malta",
    "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "SK": "Europe/Bratislava",
    "SI": "Europe/Ljubljana",
    "ES": "Europe/Madrid",
    "SE": "Europe/Stockholm",
}
# Residents of these codes also count toward the rule's code (the Norway row covers the whole EEA-EFTA).
REGION_MEMBERS: dict[str, frozenset[str]] = {
    "EU": frozenset(EU_MEMBER_STATES),
    "NO": frozenset({"IS", "LI"}),
}
CODE_ALIASES = {"UK": "GB"}
# Two-letter codes that are both a country and a US state: a reminder is printed when one is set.
US_STATE_LOOKALIKES = frozenset(
    {
        "AL",
        "AR",
        "AZ",
        "CA",
        "CO",
        "DE",
        "GA",
        "ID",
        "IL",
        "IN",
        "LA",
        "MA",
        "MD",
        "ME",
        "MN",
        "MO",
        "MS",
        "MT",
        "NC",
        "NE",
        "PA",
        "SC",
        "TN",
        "VA",
    }
)
