"""The control catalogue: every SOC 2, ISO/IEC 27001 and NIST CSF 2.0 id the checklist may cite, with a title.

Checklist files are validated against it so an auditor never meets an invented control id, and reports
print the titles from here. Titles are short paraphrases; the AICPA and ISO texts are licensed, so read the
purchased text for the exact wording.

- SOC 2: 2017 Trust Services Criteria (2022 points of focus do not change the criteria). CC1-CC9 always
  apply; A1, C1, PI1 and P1-P8 only when that category is in the report's scope.
- ISO/IEC 27001:2022: the 93 Annex A controls ("A.5.1" .. "A.8.34") and the management-system clauses
  ("4.1" .. "10.2", e.g. "9.3" management review).
- ISO/IEC 27001:2013: only the Annex A ids a legacy checklist may still cite, each with its 2022 successor
  (ISO/IEC 27002:2022 Annex B cross-reference).
- NIST CSF 2.0: functions ("RS"), categories ("RS.MI") and all 106 subcategories ("RS.MI-01").
"""

from __future__ import annotations

import re
from typing import Literal

Framework = Literal["soc2", "iso27001", "iso27001_2013", "nist_csf"]

FRAMEWORK_TITLES: dict[str, str] = {
    "soc2": "SOC 2 (AICPA Trust Services Criteria 2017)",
    "iso27001": "ISO/IEC 27001:2022",
    "iso27001_2013": "ISO/IEC 27001:2013 (legacy)",
    "nist_csf": "NIST Cybersecurity Framework 2.0",
}

SOC2: dict[str, str] = {
    # CC1 Control environment
    "CC1.1": "Commitment to integrity and ethical values",
    "CC1.2": "Board independence and oversight of internal control",
    "CC1.3": "Structures, reporting lines, authorities and responsibilities",
    "CC1.4": "Commitment to attract, develop and retain competent individuals",
    "CC1.5": "Individuals held accountable for internal control responsibilities",
    # CC2 Communication and information
    "CC2.1": "Relevant, quality information supports internal control",
    "CC2.2": "Internal communication of objectives and responsibilities",
    "CC2.3": "Communication with external parties",
    # CC3 Risk assessment
    "CC3.1": "Objectives specified to identify and assess risks",
    "CC3.2": "Risks identified and analysed",
    "CC3.3": "Potential for fraud considered",
    "CC3.4": "Changes that could impact internal control identified and assessed",
    # CC4 Monitoring activities
    "CC4.1": "Ongoing and separate evaluations of controls",
    "CC4.2": "Deficiencies evaluated and communicated for corrective action",
    # CC5 Control activities
    "CC5.1": "Control activities selected and developed to mitigate risks",
    "CC5.2": "General control activities over technology",
    "CC5.3": "Control activities deployed through policies and procedures",
    # CC6 Logical and physical access
    "CC6.1": "Logical access security over protected information assets",
    "CC6.2": "Users registered and authorised before credentials issue; removed when no longer authorised",
    "CC6.3": "Access authorised, modified or removed by role, least privilege and segregation of duties",
    "CC6.4": "Physical access to facilities and protected assets restricted",
    "CC6.5": "Protections over physical assets discontinued only after data is unrecoverable",
    "CC6.6": "Logical access measures against threats from outside system boundaries",
    "CC6.7": "Transmission, movement and removal of information restricted and protected",
    "CC6.8": "Unauthorised or malicious software prevented or detected",
    # CC7 System operations
    "CC7.1": "Detection and monitoring of configuration changes and new vulnerabilities",
    "CC7.2": "System components monitored for anomalies indicating malicious acts or errors",
    "CC7.3": "Security events evaluated to determine whether they are incidents",
    "CC7.4": "Incidents responded to: understand, contain, remediate, communicate",
    "CC7.5": "Recovery from identified security incidents",
    # CC8 Change management
    "CC8.1": "Changes authorised, designed, tested, approved and implemented",
    # CC9 Risk mitigation
    "CC9.1": "Risk mitigation for business disruptions",
    "CC9.2": "Risks from vendors and business partners assessed and managed",
    # Availability
    "A1.1": "Processing capacity maintained, monitored and evaluated",
    "A1.2": "Environmental protections, backup and recovery infrastructure",
    "A1.3": "Recovery plan procedures tested",
    # Confidentiality
    "C1.1": "Confidential information identified and maintained",
    "C1.2": "Confidential information disposed of",
    # Processing integrity
    "PI1.1": "Processing objectives and data definitions communicated",
    "PI1.2": "System inputs complete and accurate",
    "PI1.3": "System processing complete, accurate and timely",
    "PI1.4": "System outputs complete, accurate and distributed as intended",
    "PI1.5": "Inputs, processing items and outputs stored completely and accurately",
    # Privacy
    "P1.1": "Notice about privacy practices",
    "P2.1": "Choice and consent communicated and obtained",
    "P3.1": "Personal information collected consistent with objectives",
    "P3.2": "Explicit consent obtained where required",
    "P4.1": "Personal information used consistent with objectives",
    "P4.2": "Personal information retained consistent with objectives",
    "P4.3": "Personal information disposed of securely",
    "P5.1": "Data subjects given access to their personal information",
    "P5.2": "Personal information corrected, amended or appended on request",
    "P6.1": "Disclosure to third parties only with consent or as authorised",
    "P6.2": "Record of authorised disclosures kept",
    "P6.3": "Record of unauthorised disclosures (breaches) kept",
    "P6.4": "Privacy commitments obtained from vendors and third parties",
    "P6.5": "Vendors and third parties notify the entity of unauthorised disclosures",
    "P6.6": "Breach and incident notification to affected data subjects and others",
    "P6.7": "Accounting of personal information held and disclosed provided to data subjects",
    "P7.1": "Personal information kept accurate, complete and relevant",
    "P8.1": "Privacy inquiries, complaints and disputes handled and monitored",
}

ISO27001_2022: dict[str, str] = {
    # Management-system clauses
    "4.1": "Understanding the organization and its context",
    "4.2": "Understanding the needs and expectations of interested parties",
    "4.3": "Determining the scope of the ISMS",
    "4.4": "Information security management system",
    "5.1": "Leadership and commitment",
    "5.2": "Information security policy",
    "5.3": "Organizational roles, responsibilities and authorities",
    "6.1": "Actions to address risks and opportunities",
    "6.1.2": "Information security risk assessment",
    "6.1.3": "Information security risk treatment",
    "6.2": "Information security objectives and planning to achieve them",
    "6.3": "Planning of changes",
    "7.1": "Resources",
    "7.2": "Competence",
    "7.3": "Awareness",
    "7.4": "Communication",
    "7.5": "Documented information",
    "8.1": "Operational planning and control",
    "8.2": "Information security risk assessment (performed)",
    "8.3": "Information security risk treatment (implemented)",
    "9.1": "Monitoring, measurement, analysis and evaluation",
    "9.2": "Internal audit",
    "9.3": "Management review",
    "9.3.2": "Management review inputs",
    "9.3.3": "Management review results",
    "10.1": "Continual improvement",
    "10.2": "Nonconformity and corrective action",
    # Annex A: organizational controls
    "A.5.1": "Policies for information security",
    "A.5.2": "Information security roles and responsibilities",
    "A.5.3": "Segregation of duties",
    "A.5.4": "Management responsibilities",
    "A.5.5": "Contact with authorities",
    "A.5.6": "Contact with special interest groups",
    "A.5.7": "Threat intelligence",
    "A.5.8": "Information security in project management",
    "A.5.9": "Inventory of information and other associated assets",
    "A.5.10": "Acceptable use of information and other associated assets",
    "A.5.11": "Return of assets",
    "A.5.12": "Classification of information",
    "A.5.13": "Labelling of information",
    "A.5.14": "Information transfer",
    "A.5.15": "Access control",
    "A.5.16": "Identity management",
    "A.5.17": "Authentication information",
    "A.5.18": "Access rights",
    "A.5.19": "Information security in supplier relationships",
    "A.5.20": "Addressing information security within supplier agreements",
    "A.5.21": "Managing information security in the ICT supply chain",
    "A.5.22": "Monitoring, review and change management of supplier services",
    "A.5.23": "Information security for use of cloud services",
    "A.5.24": "Information security incident management planning and preparation",
    "A.5.25": "Assessment and decision on information security events",
    "A.5.26": "Response to information security incidents",
    "A.5.27": "Learning from information security incidents",
    "A.5.28": "Collection of evidence",
    "A.5.29": "Information security during disruption",
    "A.5.30": "ICT readiness for business continuity",
    "A.5.31": "Legal, statutory, regulatory and contractual requirements",
    "A.5.32": "Intellectual property rights",
    "A.5.33": "Protection of records",
    "A.5.34": "Privacy and protection of PII",
    "A.5.35": "Independent review of information security",
    "A.5.36": "Compliance with policies, rules and standards for information security",
    "A.5.37": "Documented operating procedures",
    # Annex A: people controls
    "A.6.1": "Screening",
    "A.6.2": "Terms and conditions of employment",
    "A.6.3": "Information security awareness, education and training",
    "A.6.4": "Disciplinary process",
    "A.6.5": "Responsibilities after termination or change of employment",
    "A.6.6": "Confidentiality or non-disclosure agreements",
    "A.6.7": "Remote working",
    "A.6.8": "Information security event reporting",
    # Annex A: physical controls
    "A.7.1": "Physical security perimeters",
    "A.7.2": "Physical entry",
    "A.7.3": "Securing offices, rooms and facilities",
    "A.7.4": "Physical security monitoring",
    "A.7.5": "Protecting against physical and environmental threats",
    "A.7.6": "Working in secure areas",
    "A.7.7": "Clear desk and clear screen",
    "A.7.8": "Equipment siting and protection",
    "A.7.9": "Security of assets off-premises",
    "A.7.10": "Storage media",
    "A.7.11": "Supporting utilities",
    "A.7.12": "Cabling security",
    "A.7.13": "Equipment maintenance",
    "A.7.14": "Secure disposal or re-use of equipment",
    # Annex A: technological controls
    "A.8.1": "User endpoint devices",
    "A.8.2": "Privileged access rights",
    "A.8.3": "Information access restriction",
    "A.8.4": "Access to source code",
    "A.8.5": "Secure authentication",
    "A.8.6": "Capacity management",
    "A.8.7": "Protection against malware",
    "A.8.8": "Management of technical vulnerabilities",
    "A.8.9": "Configuration management",
    "A.8.10": "Information deletion",
    "A.8.11": "Data masking",
    "A.8.12": "Data leakage prevention",
    "A.8.13": "Information backup",
    "A.8.14": "Redundancy of information processing facilities",
    "A.8.15": "Logging",
    "A.8.16": "Monitoring activities",
    "A.8.17": "Clock synchronization",
    "A.8.18": "Use of privileged utility programs",
    "A.8.19": "Installation of software on operational systems",
    "A.8.20": "Networks security",
    "A.8.21": "Security of network services",
    "A.8.22": "Segregation of networks",
    "A.8.23": "Web filtering",
    "A.8.24": "Use of cryptography",
    "A.8.25": "Secure development life cycle",
    "A.8.26": "Application security requirements",
    "A.8.27": "Secure system architecture and engineering principles",
    "A.8.28": "Secure coding",
    "A.8.29": "Security testing in development and acceptance",
    "A.8.30": "Outsourced development",
    "A.8.31": "Separation of development, test and production environments",
    "A.8.32": "Change management",
    "A.8.33": "Test information",
    "A.8.34": "Protection of information systems during audit testing",
}

# 2013 Annex A id -> (title, 2022 successor). Only the ids a legacy checklist is expected to cite.
ISO27001_2013: dict[str, tuple[str, str]] = {
    "A.6.1.3": ("Contact with authorities", "A.5.5"),
    "A.9.1.1": ("Access control policy", "A.5.15"),
    "A.9.1.2": ("Access to networks and network services", "A.5.15"),
    "A.9.2.1": ("User registration and de-registration", "A.5.16"),
    "A.9.2.2": ("User access provisioning", "A.5.18"),
    "A.9.2.3": ("Management of privileged access rights", "A.8.2"),
    "A.9.2.4": ("Management of secret authentication information of users", "A.5.17"),
    "A.9.2.5": ("Review of user access rights", "A.5.18"),
    "A.9.2.6": ("Removal or adjustment of access rights", "A.5.18"),
    "A.9.3.1": ("Use of secret authentication information", "A.5.17"),
    "A.9.4.1": ("Information access restriction", "A.8.3"),
    "A.9.4.2": ("Secure log-on procedures", "A.8.5"),
    "A.9.4.3": ("Password management system", "A.5.17"),
    "A.10.1.1": ("Policy on the use of cryptographic controls", "A.8.24"),
    "A.10.1.2": ("Key management", "A.8.24"),
    "A.12.4.1": ("Event logging", "A.8.15"),
    "A.12.4.2": ("Protection of log information", "A.8.15"),
    "A.12.4.3": ("Administrator and operator logs", "A.8.15"),
    "A.12.4.4": ("Clock synchronisation", "A.8.17"),
    "A.13.2.1": ("Information transfer policies and procedures", "A.5.14"),
    "A.13.2.2": ("Agreements on information transfer", "A.5.14"),
    "A.13.2.3": ("Electronic messaging", "A.5.14"),
    "A.13.2.4": ("Confidentiality or non-disclosure agreements", "A.6.6"),
    "A.15.1.1": ("Information security policy for supplier relationships", "A.5.19"),
    "A.15.1.2": ("Addressing security within supplier agreements", "A.5.20"),
    "A.15.1.3": ("Information and communication technology supply chain", "A.5.21"),
    "A.15.2.1": ("Monitoring and review of supplier services", "A.5.22"),
    "A.15.2.2": ("Managing changes to supplier services", "A.5.22"),
    "A.16.1.1": ("Responsibilities and procedures", "A.5.24"),
    "A.16.1.2": ("Reporting information security events", "A.6.8"),
    "A.16.1.3": ("Reporting information security weaknesses", "A.6.8"),
    "A.16.1.4": ("Assessment of and decision on information security events", "A.5.25"),
    "A.16.1.5": ("Response to information security incidents", "A.5.26"),
    "A.16.1.6": ("Learning from information security incidents", "A.5.27"),
    "A.16.1.7": ("Collection of evidence", "A.5.28"),
    "A.18.1.4": ("Privacy and protection of personally identifiable information", "A.5.34"),
}

NIST_CSF_FUNCTIONS: dict[str, str] = {
    "GV": "Govern",
    "ID": "Identify",
    "PR": "Protect",
    "DE": "Detect",
    "RS": "Respond",
    "RC": "Recover",
}

NIST_CSF_CATEGORIES: dict[str, str] = {
    "GV.OC": "Organizational Context",
    "GV.RM": "Risk Management Strategy",
    "GV.RR": "Roles, Responsibilities, and Authorities",
    "GV.PO": "Policy",
    "GV.OV": "Oversight",
    "GV.SC": "Cybersecurity Supply Chain Risk Management",
    "ID.AM": "Asset Management",
    "ID.RA": "Risk Assessment",
    "ID.IM": "Improvement",
    "PR.AA": "Identity Management, Authentication, and Access Control",
    "PR.AT": "Awareness and Training",
    "PR.DS": "Data Security",
    "PR.PS": "Platform Security",
    "PR.IR": "Technology Infrastructure Resilience",
    "DE.CM": "Continuous Monitoring",
    "DE.AE": "Adverse Event Analysis",
    "RS.MA": "Incident Management",
    "RS.AN": "Incident Analysis",
    "RS.CO": "Incident Response Reporting and Communication",
    "RS.MI": "Incident Mitigation",
    "RC.RP": "Incident Recovery Plan Execution",
    "RC.CO": "Incident Recovery Communication",
}

NIST_CSF_SUBCATEGORIES: dict[str, str] = {
    "GV.OC-01": "Organizational mission understood and informs cybersecurity risk management",
    "GV.OC-02": "Internal and external stakeholders and their expectations understood",
    "GV.OC-03": "Legal, regulatory and contractual requirements (incl. privacy) understood and managed",
    "GV.OC-04": "Critical objectives, capabilities and services stakeholders depend on understood",
    "GV.OC-05": "Outcomes, capabilities and services the organization depends on understood",
    "GV.RM-01": "Risk management objectives established and agreed",
    "GV.RM-02": "Risk appetite and tolerance statements established and maintained",
    "GV.RM-03": "Cybersecurity risk included in enterprise risk management",
    "GV.RM-04": "Strategic direction for risk response options established",
    "GV.RM-05": "Lines of communication for cybersecurity risks, incl. suppliers, established",
    "GV.RM-06": "Standard method for calculating and prioritizing cybersecurity risk",
    "GV.RM-07": "Strategic opportunities (positive risks) characterized",
    "GV.RR-01": "Leadership responsible and accountable for cybersecurity risk",
    "GV.RR-02": "Cybersecurity roles, responsibilities and authorities established and enforced",
    "GV.RR-03": "Adequate resources allocated for cybersecurity",
    "GV.RR-04": "Cybersecurity included in human resources practices",
    "GV.PO-01": "Cybersecurity policy established, communicated and enforced",
    "GV.PO-02": "Cybersecurity policy reviewed and updated",
    "GV.OV-01": "Strategy outcomes reviewed to inform and adjust strategy",
    "GV.OV-02": "Strategy reviewed and adjusted to cover requirements and risks",
    "GV.OV-03": "Cybersecurity risk management performance evaluated",
    "GV.SC-01": "Supply chain risk management program established",
    "GV.SC-02": "Supplier, customer and partner cybersecurity roles established",
    "GV.SC-03": "Supply chain risk management integrated into risk processes",
    "GV.SC-04": "Suppliers known and prioritized by criticality",
    "GV.SC-05": "Supply chain security requirements in contracts and agreements",
    "GV.SC-06": "Due diligence before entering supplier relationships",
    "GV.SC-07": "Supplier risks understood, assessed and monitored over the relationship",
    "GV.SC-08": "Relevant suppliers included in incident planning, response and recovery",
    "GV.SC-09": "Supply chain security practices monitored through the life cycle",
    "GV.SC-10": "Plans cover activities after a supplier relationship ends",
    "ID.AM-01": "Inventories of hardware maintained",
    "ID.AM-02": "Inventories of software, services and systems maintained",
    "ID.AM-03": "Authorized network communication and data flows represented",
    "ID.AM-04": "Inventories of supplier-provided services maintained",
    "ID.AM-05": "Assets prioritized by classification, criticality and impact",
    "ID.AM-07": "Inventories of data and metadata for designated data types maintained",
    "ID.AM-08": "Systems, software, services and data managed through their life cycles",
    "ID.RA-01": "Vulnerabilities in assets identified, validated and recorded",
    "ID.RA-02": "Cyber threat intelligence received from sharing forums and sources",
    "ID.RA-03": "Internal and external threats identified and recorded",
    "ID.RA-04": "Potential impacts and likelihoods identified and recorded",
    "ID.RA-05": "Threats, vulnerabilities, likelihoods and impacts used to prioritize risk response",
    "ID.RA-06": "Risk responses chosen, planned, tracked and communicated",
    "ID.RA-07": "Changes and exceptions managed, assessed and tracked",
    "ID.RA-08": "Processes for vulnerability disclosures established",
    "ID.RA-09": "Authenticity and integrity of hardware and software assessed before use",
    "ID.RA-10": "Critical suppliers assessed prior to acquisition",
    "ID.IM-01": "Improvements identified from evaluations",
    "ID.IM-02": "Improvements identified from security tests and exercises",
    "ID.IM-03": "Improvements identified from operational processes and activities",
    "ID.IM-04": "Incident response and other cybersecurity plans established, maintained and improved",
    "PR.AA-01": "Identities and credentials for users, services and hardware managed",
    "PR.AA-02": "Identities proofed and bound to credentials",
    "PR.AA-03": "Users, services and hardware authenticated",
    "PR.AA-04": "Identity assertions protected, conveyed and verified",
    "PR.AA-05": "Access permissions managed with least privilege and separation of duties",
    "PR.AA-06": "Physical access to assets managed, monitored and enforced",
    "PR.AT-01": "Personnel given awareness and training",
    "PR.AT-02": "Individuals in specialized roles given awareness and training",
    "PR.DS-01": "Data at rest protected",
    "PR.DS-02": "Data in transit protected",
    "PR.DS-10": "Data in use protected",
    "PR.DS-11": "Backups created, protected, maintained and tested",
    "PR.PS-01": "Configuration management practices established and applied",
    "PR.PS-02": "Software maintained, replaced and removed commensurate with risk",
    "PR.PS-03": "Hardware maintained, replaced and removed commensurate with risk",
    "PR.PS-04": "Log records generated and made available for continuous monitoring",
    "PR.PS-05": "Installation and execution of unauthorized software prevented",
    "PR.PS-06": "Secure software development practices integrated and monitored",
    "PR.IR-01": "Networks and environments protected from unauthorized logical access",
    "PR.IR-02": "Technology assets protected from environmental threats",
    "PR.IR-03": "Resilience mechanisms implemented for normal and adverse situations",
    "PR.IR-04": "Adequate resource capacity maintained",
    "DE.CM-01": "Networks and network services monitored for adverse events",
    "DE.CM-02": "Physical environment monitored for adverse events",
    "DE.CM-03": "Personnel activity and technology usage monitored for adverse events",
    "DE.CM-06": "External service provider activities and services monitored",
    "DE.CM-09": "Computing hardware, software, runtime environments and data monitored",
    "DE.AE-02": "Potentially adverse events analyzed",
    "DE.AE-03": "Information correlated from multiple sources",
    "DE.AE-04": "Estimated impact and scope of adverse events understood",
    "DE.AE-06": "Information on adverse events provided to authorized staff and tools",
    "DE.AE-07": "Threat intelligence and context integrated into analysis",
    "DE.AE-08": "Incidents declared when adverse events meet incident criteria",
    "RS.MA-01": "Incident response plan executed with relevant third parties once declared",
    "RS.MA-02": "Incident reports triaged and validated",
    "RS.MA-03": "Incidents categorized and prioritized",
    "RS.MA-04": "Incidents escalated or elevated as needed",
    "RS.MA-05": "Criteria for initiating incident recovery applied",
    "RS.AN-03": "Analysis establishes what took place and the root cause",
    "RS.AN-06": "Investigation actions recorded; records' integrity and provenance preserved",
    "RS.AN-07": "Incident data and metadata collected; integrity and provenance preserved",
    "RS.AN-08": "Incident magnitude estimated and validated",
    "RS.CO-02": "Internal and external stakeholders notified of incidents",
    "RS.CO-03": "Information shared with designated internal and external stakeholders",
    "RS.MI-01": "Incidents contained",
    "RS.MI-02": "Incidents eradicated",
    "RC.RP-01": "Recovery portion of the incident response plan executed",
    "RC.RP-02": "Recovery actions selected, scoped, prioritized and performed",
    "RC.RP-03": "Integrity of backups and restoration assets verified before use",
    "RC.RP-04": "Mission functions considered to establish post-incident norms",
    "RC.RP-05": "Integrity of restored assets verified; normal operation confirmed",
    "RC.RP-06": "End of recovery declared on criteria; documentation completed",
    "RC.CO-03": "Recovery activities and progress communicated to stakeholders",
    "RC.CO-04": "Public updates on recovery shared using approved methods",
}


FRAMEWORK_SHORT: dict[str, str] = {
    "soc2": "SOC 2",
    "iso27001": "ISO 27001:2022",
    "iso27001_2013": "ISO 27001:2013",
    "nist_csf": "NIST CSF 2.0",
}


def nist_csf_title(control_id: str) -> str | None:
    """Title of a CSF 2.0 function, category or subcategory id."""
    return (
        NIST_CSF_SUBCATEGORIES.get(control_id)
        or NIST_CSF_CATEGORIES.get(control_id)
        or NIST_CSF_FUNCTIONS.get(control_id)
    )


def control_title(framework: str, control_id: str) -> str | None:
    """The printable title of `control_id` in `framework`, or None if the id is not in the catalogue."""
    if framework == "soc2":
        return SOC2.get(control_id)
    if framework == "iso27001":
        return ISO27001_2022.get(control_id)
    if framework == "iso27001_2013":
        legacy = ISO27001_2013.get(control_id)
        return legacy[0] if legacy else None
    if framework == "nist_csf":
        return nist_csf_title(control_id)
    return None


def is_known(framework: str, control_id: str) -> bool:
    return control_title(framework, control_id) is not None


def iso_2022_successor(control_id_2013: str) -> str | None:
    """The ISO/IEC 27001:2022 Annex A control that replaced a 2013 one."""
    legacy = ISO27001_2013.get(control_id_2013)
    return legacy[1] if legacy else None


def unknown_control_message(framework: str, control_id: str) -> str:
    """Why an id is refused, with a hint at the near miss a responder most often makes."""
    name = FRAMEWORK_SHORT.get(framework, framework)
    hint = ""
    if framework == "iso27001" and control_id in ISO27001_2013:
        hint = f" (a 2013 id: list it under iso27001_2013 and cite {iso_2022_successor(control_id)} here)"
    elif framework == "iso27001" and not control_id.startswith("A.") and f"A.{control_id}" in ISO27001_2022:
        hint = f" (Annex A controls are written A.{control_id})"
    elif framework == "nist_csf" and not re.fullmatch(r"[A-Z]{2}(\.[A-Z]{2}(-\d{2})?)?", control_id):
        hint = " (CSF 2.0 subcategories look like RS.MI-01; CSF 1.1 ids are not accepted)"
    return f"unknown {name} control id {control_id!r}{hint}"
