# --sbom and --checksum over a signed file:// repository and a local .deb: the SPDX 2.3
# document lists every installed package with its version, architecture, source package,
# the .deb's SHA-256 (as sha256sum computes it) and download location, the licenses of a
# machine-readable copyright file (also when path-exclude kept it out of the image), and the
# image's own SHA-256; sha256sum -c accepts the checksum file. The document is checked by
# tests/cases/output-sbom/check-spdx.py (python3's json), and against the SPDX 2.3 JSON schema
# with python3-jsonschema when SPDX_SCHEMA names the schema file (Debian does not package it).
mkdir -p debs a/usr/share/doc/app b/usr/share/doc/libfoo c/usr/share/doc/libloc
cat >a/usr/share/doc/app/copyright <<'C'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: app

Files: *
Copyright: 2020 Someone
License: GPL-2+ or Artistic

Files: lib/*
Copyright: 2021 Other
License: Expat

Files: odd/*
Copyright: 2022 Odd
License: Odd-License

License: Odd-License
 Do what you like.
C
printf 'This is not machine-readable.\nGPL, probably.\n' >b/usr/share/doc/libfoo/copyright
cat >c/usr/share/doc/libloc/copyright <<'C'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2023 Local
License: LGPL-2.1+
C
mkdeb debs app 1.0-1 a "Depends: libfoo, libloc" "Source: app-src (0.9-2)" "Priority: optional"
mkdeb debs libfoo 2.0+dfsg-1 b "Priority: optional"
mkdir -p localdebs
mkdeb localdebs libloc 3.1 c
"$CASE/../../mkrepo" repo gnupg testing main amd64 debs/*.deb >/dev/null 2>&1 || fail "mkrepo"

cat >recipe.yml <<YAML
image: {size: 16MiB, seed: sbom}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, mount: /}}
fstab: false
flash: false
packages:
  suite: testing
  mirror: file://$WORK/repo
  keyring: gnupg/keyring.gpg
  variant: none
  include: [app]
  debs: [localdebs]
  path-exclude: [/usr/share/doc/app/*]
YAML
mkbm --cache cache recipe.yml -o out/s.img --sbom --checksum || { cat "$WORK/stderr"; fail "build"; }
ls out
[ -f out/s.img.spdx.json ] && [ -f out/s.img.sha256 ] && [ -f out/s.img.bmap ] || fail "outputs missing"
# app's copyright file is not in the image: its license came from the .deb; libloc's came
# from the image.
part_extract out/s.img 1 root.fs
[ -z "$(dbg root.fs 'ls -p /usr/share/doc/app' | grep copyright)" ] || fail "copyright in the image"
(cd out && sha256sum -c s.img.sha256) || fail "sha256sum -c"
expect_eq "$(wc -l <out/s.img.sha256)" 3 "checksum lines (image, bmap, sbom)"

app_deb=$(ls repo/pool/main/app_*.deb 2>/dev/null || find repo -name 'app_*.deb')
foo_deb=$(find repo -name 'libfoo_*.deb')
cat >expected.json <<J
{"image": "s.img", "image_sha256": "$(sha256sum out/s.img | cut -d' ' -f1)",
 "packages": {
  "app": {"version": "1.0-1", "arch": "all", "source": "app-src 0.9-2",
          "sha256": "$(sha256sum "$app_deb" | cut -d' ' -f1)",
          "url": "file://$WORK/repo/${app_deb#repo/}",
          "license": "(GPL-2.0-or-later OR Artistic-1.0-Perl) AND MIT AND LicenseRef-Odd-License"},
  "libfoo": {"version": "2.0+dfsg-1", "arch": "all", "source": "libfoo 2.0+dfsg-1",
          "sha256": "$(sha256sum "$foo_deb" | cut -d' ' -f1)",
          "url": "file://$WORK/repo/${foo_deb#repo/}", "license": "NOASSERTION"},
  "libloc": {"version": "3.1", "arch": "all", "source": "libloc 3.1",
          "sha256": "$(sha256sum localdebs/libloc_3.1_all.deb | cut -d' ' -f1)",
          "url": "NOASSERTION", "license": "LGPL-2.1-or-later"}
 }}
J
python3 "$CASE/check-spdx.py" out/s.img.spdx.json expected.json || fail "the SPDX document"
if [ -n "${SPDX_SCHEMA:-}" ]; then
	python3 -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))' \
		"$SPDX_SCHEMA" out/s.img.spdx.json || fail "SPDX 2.3 schema"
fi

# The negatives: the checker and sha256sum -c catch a changed document.
sed 's/"versionInfo": "1.0-1"/"versionInfo": "1.0-2"/' out/s.img.spdx.json >bad.json
python3 "$CASE/check-spdx.py" bad.json expected.json 2>/dev/null && fail "checker missed a wrong version"
jq 'del(.creationInfo)' out/s.img.spdx.json >bad.json
python3 "$CASE/check-spdx.py" bad.json expected.json 2>/dev/null && fail "checker missed creationInfo"
cp out/s.img.spdx.json saved.json
printf ' ' >>out/s.img.spdx.json
(cd out && sha256sum -c --quiet s.img.sha256 2>/dev/null) && fail "sha256sum -c missed a change"
cp saved.json out/s.img.spdx.json

# Reproducible: a second build gives the same document and checksums.
mkdir again
mkbm --cache cache recipe.yml -o again/s.img --sbom --checksum || fail "second build"
cmp again/s.img.spdx.json saved.json || fail "the SBOM differs between two builds"
cmp again/s.img.sha256 out/s.img.sha256 || fail "the checksums differ between two builds"

# Without the options only the image (and with --no-bmap not even the block map).
rm -rf out/*
mkbm --cache cache recipe.yml -o out/n.img --no-bmap || fail "build without extras"
expect_eq "$(ls out)" "n.img" "only the image without --sbom, --checksum, with --no-bmap"
