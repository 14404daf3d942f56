/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "run": the recipe's own steps, run inside the configured target as root, in order,
 * after files: and overlays: are in place (the way mkosi runs its postinst scripts).
 *
 * run:
 *   - name: admin user       named in the log and in errors
 *     script: |              a /bin/sh script (run with sh -e)
 *       useradd -m ada
 *   - name: editor
 *     command: apt-get install -y nano     or one command line
 *
 * The steps run the way packages.configure says (userns, vm or first-boot), with no
 * daemon allowed to start (policy-rc.d answers 101) and the network of the build host. A
 * failing step stops the build with its output and exit status, and no image is left. */
#include "target.h"
#include "log.h"
#include "stage.h"

struct step {
	const char *name;
	const char *text;
	const struct node *node;
};

struct run_priv {
	struct step *steps;
	size_t n;
	const struct node *node;
};


static int run_parse(struct build *b, void **ret_priv)
{
	const struct node *n = node_get(b->recipe->root, "run");
	struct run_priv *p;
	int r;

	if (!n)
		return 0;
	p = xcalloc(1, sizeof(*p));
	*ret_priv = p;
	p->node = n;
	if ((r = node_expect(n, NODE_SEQ)) < 0)
		return r;
	p->steps = xcalloc(n->n + 1, sizeof(*p->steps));
	for (size_t i = 0; i < n->n; i++) {
		const struct node *e = n->items[i], *x, *s, *c;
		struct step *st = &p->steps[p->n++];

		st->node = e;
		if ((r = node_expect(e, NODE_MAP)) < 0)
			return r;
		if (!(x = node_get(e, "name")))
			return node_error(e, "a step needs a name (it names the step in the log)");
		if ((r = node_get_string(x, &st->name)) < 0)
			return r;
		if (!st->name[0] || strchr(st->name, '\n') || strchr(st->name, '\''))
			return node_error(x, "a step's name is one line without quotes");
		s = node_get(e, "script");
		c = node_get(e, "command");
		if (!!s == !!c)
			return node_error(e, "step '%s': give either script: (shell text) or "
					  "command: (one command line)", st->name);
		if ((r = node_get_string(s ? s : c, &st->text)) < 0)
			return r;
	}
	if (!b->packages)
		return node_error(n, "run: steps need a Debian root to run in (add packages:)");
	return p->n > 0;
}

static int run_verify(struct build *b, void *priv)
{
	if (b->configure == CONFIGURE_NONE)
		return node_error(b->configure_node ? b->configure_node
						    : ((struct run_priv *)priv)->node,
				  "run: steps need the configured system, and packages.configure "
				  "is none (use auto, userns, vm or first-boot)");
	return 0;
}

static int run_plan(struct build *b, void *priv, FILE *out)
{
	struct run_priv *p = priv;

	for (size_t i = 0; i < p->n; i++)
		fprintf(out, "run: %s\n", p->steps[i].name);
	return 0;
}

static int run_run(struct build *b, void *priv)
{
	struct run_priv *p = priv;
	_cleanup_free_ char *pro = target_script_prologue(b), *script = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&script, &len);

	if (b->configure == CONFIGURE_NONE) {
		fclose(f);
		return node_error(p->node, "run: steps need the configured system, and the package "
				  "set has no dpkg (add dpkg to packages.include)");
	}
	fputs(pro, f);
	fputs("printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d\n"
	      "chmod 755 /usr/sbin/policy-rc.d\n"
	      "mkb_dir=$(mktemp -d /run/mkbootmedia-steps.XXXXXX 2>/dev/null || "
	      "mktemp -d /tmp/mkbootmedia-steps.XXXXXX)\n", f);
	for (size_t i = 0; i < p->n; i++) {
		_cleanup_free_ char *prefix = xasprintf("MKB_STEP_%zu", i);
		_cleanup_free_ char *d = target_heredoc_delimiter(p->steps[i].text, prefix);
		const char *t = p->steps[i].text;

		fprintf(f, "cat >\"$mkb_dir/%zu\" <<'%s'\n%s%s%s\n", i, d, t,
			t[0] && t[strlen(t) - 1] != '\n' ? "\n" : "", d);
	}
	for (size_t i = 0; i < p->n; i++)
		fprintf(f, "printf '==> run: %%s\\n' '%s'\n"
			"if sh -e \"$mkb_dir/%zu\" </dev/null; then :; else mkb_rc=$?\n"
			"  echo \"mkbootmedia: run step '%s' failed with exit status $mkb_rc\" >&2\n"
			"  rm -rf \"$mkb_dir\" /usr/sbin/policy-rc.d; exit $mkb_rc\nfi\n",
			p->steps[i].name, i, p->steps[i].name);
	fputs("rm -rf \"$mkb_dir\" /usr/sbin/policy-rc.d\n", f);
	fputs(TARGET_SCRIPT_CLEANUP, f);
	fclose(f);
	return target_script(b, "run", script, 0);
}

static void run_free(void *priv)
{
	struct run_priv *p = priv;

	free(p->steps);
	free(p);
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key run_key_table[] = {
	{ "run", "list", "none", NULL, "steps run as root inside the configured target, in order" },
	{ "run[].name", "string", "required", NULL, "names the step in the log and in errors" },
	{ "run[].script", "string", "none", NULL, "a /bin/sh script (run with sh -e)" },
	{ "run[].command", "string", "none", NULL, "or one command line" },
	{ NULL },
};

const struct stage stage_run = {
	.name = "run",
	.key_table = run_key_table,
	.summary = "the recipe's steps, run as root inside the configured target",
	.parse = run_parse,
	.verify = run_verify,
	.plan = run_plan,
	.run = run_run,
	.free = run_free,
};
