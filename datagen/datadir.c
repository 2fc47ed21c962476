/* SPDX-License-Identifier: MIT */
/*
 * Finds the data directory (templates and other shipped files) at run time:
 * an explicit option, the MEDSFT_DATA environment value, "data/" beside the
 * build or install prefix of the running binary (<exe>/../data, found via
 * /proc/self/exe, which is what makes build/medsft work in the source
 * tree), and last the installed share/medsft. The caller passes the option
 * and environment values: library code reads no process state but the
 * binary's own path.
 */
#include "datagen/datagen.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"

static bool has_templates(const char *dir)
{
	struct ms_buf p = MS_BUF_INIT;
	struct stat st;
	bool ok;

	ms_buf_addf(&p, "%s/templates", dir);
	ok = !ms_buf_status(&p) && stat(p.buf, &st) == 0 && S_ISDIR(st.st_mode);
	ms_buf_release(&p);
	return ok;
}

/* "<dir of /proc/self/exe>/../data" into out; false if unknown. */
static bool exe_data_dir(struct ms_buf *out)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	/* the parent of the binary's directory ("/" when the binary is in /bin) */
	slash[slash == exe ? 1 : 0] = '\0';
	ms_buf_reset(out);
	ms_buf_addf(out, "%s%sdata", exe, strcmp(exe, "/") == 0 ? "" : "/");
	return ms_buf_status(out) == 0;
}

static int found(char **out, const char *dir, struct ms_error *err)
{
	*out = ms_strdup(dir);
	if (!*out)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

int datagen_data_dir_find(char **out, const char *dir, const char *env_dir, const char *install_dir,
                          struct ms_error *err)
{
	struct ms_buf exe = MS_BUF_INIT;
	int rc;

	*out = NULL;
	if (dir && dir[0]) {
		if (has_templates(dir))
			return found(out, dir, err);
		ms_error_set_path(err, dir);
		return ms_error_set(err, MS_ENOTFOUND,
		                    "not a data directory (no templates/ in it)");
	}
	if (env_dir && env_dir[0]) {
		if (has_templates(env_dir))
			return found(out, env_dir, err);
		ms_error_set_path(err, env_dir);
		return ms_error_set(err, MS_ENOTFOUND,
		                    "MEDSFT_DATA is not a data directory (no templates/ in it)");
	}
	if (exe_data_dir(&exe) && has_templates(exe.buf)) {
		rc = found(out, exe.buf, err);
		goto out;
	}
	if (install_dir && install_dir[0] && has_templates(install_dir)) {
		rc = found(out, install_dir, err);
		goto out;
	}
	rc = ms_error_set(err, MS_ENOTFOUND,
	                  "no data directory found (tried '%.80s' and '%.80s'); use --data-dir or "
	                  "MEDSFT_DATA",
	                  exe.len ? exe.buf : "<exe>/../data", install_dir ? install_dir : "");
out:
	ms_buf_release(&exe);
	return rc;
}
