// Package detect recognizes personal data in a column from a sample of
// its values and its name: email addresses, phone numbers, payment cards
// (issuer prefix and Luhn), IBANs (length and mod 97), national ids (US
// SSN, UK NINO, Spanish DNI, French NIR, with their checks) and IP
// addresses, and from names alone person names, birth dates and
// addresses. A Finding carries counts and a confidence, never a value.
package detect
