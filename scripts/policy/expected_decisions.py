#!/usr/bin/env python3
"""Writes the expected decision table for the shipped default policy, from the policy as people wrote it (below),
independently of the Swift engine. Usage: expected_decisions.py > Tests/Fixtures/policy/expected-decisions.csv

The shipped policy, in words:
- Confidentiality is ordered U < L < M < N < R < V. V (very restricted) is never released without the patient's
  explicit authorization, whatever the role or purpose.
- Each functional role may assert only some purposes, and sees documents up to a ceiling per purpose:
  physician TREAT<=R, ETREAT<=R; nurse TREAT<=N, ETREAT<=R; pharmacist TREAT<=N; administrative HPAYMT<=L,
  HOPERAT<=M; researcher HRESCH<=L; patient: PATRQT<=R (a patient request, on her own record only: the services
  check the record is hers), and no other purpose; no staff role may assert PATRQT.
- Consent: with none on file (or an expired one) treatment, emergency, payment and operations are allowed and
  research is not; an opt-in allows all; an opt-out or a revoked consent stops sharing except for emergency
  treatment (break-glass); a document-specific deny withholds that document always.
- A patient reading her own record (PATRQT) is not bound by her own consents (they govern sharing with others):
  any consent state lets her read up to her ceiling; V stays withheld (released through her clinician).
- Every permit for ETREAT is an emergency override: audited as such and notified to the privacy officer.
"""
import csv
import sys

ORDER = ["U", "L", "M", "N", "R", "V"]
ROLES = ["physician", "nurse", "pharmacist", "administrative", "researcher", "patient"]
PURPOSES = ["TREAT", "ETREAT", "HPAYMT", "HOPERAT", "HRESCH", "PATRQT"]
CONSENTS = ["none", "opt-in", "opt-out", "document-deny", "expired", "revoked"]
CEILING = {
    "physician": {"TREAT": "R", "ETREAT": "R"},
    "nurse": {"TREAT": "N", "ETREAT": "R"},
    "pharmacist": {"TREAT": "N"},
    "administrative": {"HPAYMT": "L", "HOPERAT": "M"},
    "researcher": {"HRESCH": "L"},
    "patient": {"PATRQT": "R"},
}


def decide(role, conf, purpose, consent):
    if conf == "V":
        return "deny"
    ceiling = CEILING[role].get(purpose)
    if ceiling is None or ORDER.index(conf) > ORDER.index(ceiling):
        return "deny"
    if purpose == "PATRQT":
        return "permit"
    if consent == "document-deny":
        return "deny"
    if consent in ("opt-out", "revoked"):
        return "permit" if purpose == "ETREAT" else "deny"
    if consent in ("none", "expired"):
        return "deny" if purpose == "HRESCH" else "permit"
    return "permit"


w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["role", "confidentiality", "purpose", "consent", "decision", "emergency"])
for role in ROLES:
    for conf in ORDER:
        for purpose in PURPOSES:
            for consent in CONSENTS:
                d = decide(role, conf, purpose, consent)
                w.writerow([role, conf, purpose, consent, d, "yes" if d == "permit" and purpose == "ETREAT" else "no"])
