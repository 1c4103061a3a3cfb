"""Japanese catalog search (issue 4): folding and terms, an embedded tantivy index, queries.

Plain functions, no Django: the caller (catalog selectors, the reindex job) builds
:class:`~machidata.search.index.SearchDocument` objects from Dataset rows and passes the access
policy's answer as ``allowed_terms`` / ``allowed_ids`` to :func:`~machidata.search.query.search`.

Suggested acl terms per document, matching ``access.policy.decide`` for the *discover* action:
``subject:<classification>:<personal_data>:<discoverable>`` (what staff/anonymous standings may
discover is a set of subjects), ``owner:<unit id>`` (the owner standing discovers everything it
owns); grants expire, so pass the actor's granted dataset identifiers as ``allowed_ids`` rather
than indexing them; 管理 searches unrestricted (both ``None``).
"""

from machidata.search.index import FACETS, SearchDocument, SearchIndex, build_index, open_index
from machidata.search.query import Hit, SearchResults, search
from machidata.search.synonyms import Synonyms, default_synonyms, load_synonyms, parse_synonyms

__all__ = [
    "FACETS",
    "Hit",
    "SearchDocument",
    "SearchIndex",
    "SearchResults",
    "Synonyms",
    "build_index",
    "default_synonyms",
    "load_synonyms",
    "open_index",
    "parse_synonyms",
    "search",
]
