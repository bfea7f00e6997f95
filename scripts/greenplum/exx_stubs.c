/*
 * Test-infrastructure stubs for the Vitesse "kite/xrg" code of the gpdb 6.24.3 fork
 * (vderic/gpdb6.24.3) that scripts/greenplum/build.sh takes out of the build. Stock
 * Greenplum 6 has none of this code; the backend still references these 11 symbols
 * (declarations in src/include/exx/*.h and src/include/access/url.h), so they exist
 * here as no-ops or as a clear error if something ever reaches them.
 */
#include "postgres.h"

#include "access/url.h"
#include "executor/nodeExternalscan.h"
#include "exx/exx.h"
#include "nodes/plannodes.h"

void exx_init(void) {}

bool exx_external_kite_analyzable(Relation rel, List *locs, char fmt) { return false; }

void xscan_build_kite_query(ExternalScan *xscan, Agg *agg, PlannedStmt *stmt)
{
	elog(ERROR, "kite external scans are not part of this build");
}

void *exx_xrg_exttab_create_ctxt(ExternalScanState *node)
{
	elog(ERROR, "xrg external tables are not part of this build");
	return NULL;
}

void exx_xrg_exttab_release_ctxt(void *p) {}

bool exx_xrg_exttab_get_next(void *p, int ncol, Datum *values, bool *isnull)
{
	elog(ERROR, "xrg external tables are not part of this build");
	return false;
}

URL_FILE *url_kite_fopen(char *url, bool forwrite, extvar_t *ev, CopyState pstate)
{
	elog(ERROR, "kite:// locations are not part of this build");
	return NULL;
}

void url_kite_fclose(URL_FILE *file, bool failOnError, const char *relname) {}

bool url_kite_feof(URL_FILE *file, int bytesread) { return true; }

bool url_kite_ferror(URL_FILE *file, int bytesread, char *ebuf, int ebuflen) { return false; }

size_t url_kite_fread(void *ptr, size_t size, URL_FILE *file, CopyState pstate)
{
	elog(ERROR, "kite:// locations are not part of this build");
	return 0;
}

size_t url_kite_fwrite(void *ptr, size_t size, URL_FILE *file, CopyState pstate) { return 0; }
