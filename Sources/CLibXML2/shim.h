#ifndef CLUSTERWIRE_CLIBXML2_SHIM_H
#define CLUSTERWIRE_CLIBXML2_SHIM_H

// Debian's libxml2 is built with ICU; <libxml/encoding.h> would then pull in the system
// <unicode/ucnv.h>, whose types clash with Foundation's private ICU module. We never use
// libxml2's ICU converters (iconv does the work), so hide them before any other include.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>
#include <libxml/uri.h>
#include <libxml/entities.h>
#include <libxml/encoding.h>
#include <libxml/xmlreader.h>

/// `xmlFree` is a global function-pointer variable, which Swift 6 strict concurrency rejects.
static inline void clibxml2_free(void *p) { xmlFree(p); }

/// The dotted libxml2 version this binary was compiled against (the thread-local
/// `xmlParserVersion` macro is not importable).
static inline const char *clibxml2_version(void) { return LIBXML_DOTTED_VERSION; }

#endif
