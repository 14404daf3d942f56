#!/usr/bin/env python3
# Checks an SPDX 2.3 JSON document from mkbootmedia --sbom against the fields SPDX 2.3
# requires (document: spdxVersion, dataLicense, SPDXID, name, documentNamespace,
# creationInfo with created and creators; package: SPDXID, name, downloadLocation) and
# against what the test expects (expected.json): every package, its version, checksum,
# download location, source and license, the image's checksum, the tool in the creators.
#   check-spdx.py DOC.json EXPECTED.json
import json
import re
import sys

doc = json.load(open(sys.argv[1]))
exp = json.load(open(sys.argv[2]))
errors = []


def need(cond, what):
    if not cond:
        errors.append(what)


for k in ("spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace", "creationInfo"):
    need(k in doc, "document: no " + k)
need(doc.get("spdxVersion") == "SPDX-2.3", "spdxVersion")
need(doc.get("dataLicense") == "CC0-1.0", "dataLicense")
need(doc.get("SPDXID") == "SPDXRef-DOCUMENT", "document SPDXID")
ci = doc.get("creationInfo", {})
need(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ci.get("created", "")), "created")
need(any(c.startswith("Tool: mkbootmedia-") for c in ci.get("creators", [])), "creators")
need(re.match(r"^[a-z]+://", doc.get("documentNamespace", "")), "documentNamespace is a URI")
ids = set()
pkgs = {}
for p in doc.get("packages", []):
    for k in ("SPDXID", "name", "downloadLocation"):
        need(k in p, "package %s: no %s" % (p.get("name"), k))
    need(re.fullmatch(r"SPDXRef-[A-Za-z0-9.-]+", p.get("SPDXID", "")), "SPDXID form")
    need(p.get("SPDXID") not in ids, "duplicate SPDXID")
    ids.add(p.get("SPDXID"))
    pkgs[p.get("name")] = p
img = pkgs.pop(exp["image"], None)
need(img is not None, "no package for the image")
if img:
    need(img["checksums"] == [{"algorithm": "SHA256", "checksumValue": exp["image_sha256"]}],
         "image checksum")
    need(["SPDXRef-DOCUMENT", "DESCRIBES", img["SPDXID"]] in
         [[r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]]
          for r in doc.get("relationships", [])], "DESCRIBES the image")
need(set(pkgs) == set(exp["packages"]), "packages: %s" % sorted(pkgs))
refs = {e["licenseId"] for e in doc.get("hasExtractedLicensingInfos", [])}
for name, e in exp["packages"].items():
    p = pkgs.get(name)
    if not p:
        continue
    need(p.get("versionInfo") == e["version"], name + ": version " + str(p.get("versionInfo")))
    need(p.get("checksums") == [{"algorithm": "SHA256", "checksumValue": e["sha256"]}],
         name + ": checksum")
    need(p.get("downloadLocation") == e["url"], name + ": downloadLocation " + p.get("downloadLocation", ""))
    need(p.get("sourceInfo") == "built package from: " + e["source"], name + ": sourceInfo")
    need(p.get("licenseDeclared") == e["license"], name + ": license " + str(p.get("licenseDeclared")))
    purl = [r["referenceLocator"] for r in p.get("externalRefs", [])
            if r.get("referenceType") == "purl"]
    need(purl and purl[0].startswith("pkg:deb/debian/%s@" % name) and
         purl[0].endswith("?arch=" + e["arch"]), name + ": purl")
    for ref in re.findall(r"LicenseRef-[A-Za-z0-9.-]+", p.get("licenseDeclared", "")):
        need(ref in refs, name + ": " + ref + " not in hasExtractedLicensingInfos")
    need(img and [img["SPDXID"], "CONTAINS", p["SPDXID"]] in
         [[r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]]
          for r in doc.get("relationships", [])], name + ": CONTAINS relationship")
for e in errors:
    print("check-spdx: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
