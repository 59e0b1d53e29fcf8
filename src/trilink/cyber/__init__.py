"""Cyber threat sharing (issue #18): STIX 2.1 content with trilink's releasability markings.

Pure core, no I/O: ``markings`` maps a trilink label onto STIX markings (TLP 2.0 plus our
own releasability extension) and back; ``stixio`` reads STIX 2.1 bundles and TAXII envelopes
into checked objects; ``misp`` maps MISP JSON event exports onto STIX; ``plan`` turns parsed
objects into report items (one report per STIX object version); ``bundle`` writes what a node
holds back out as marked STIX. The CLI (``trilink cyber``) and the node's TAXII 2.1 server
(``trilink.api.taxii``) are the edges.
"""
