"""A web shop in a real browser, with a fast text twin (``agentgym/WebShop-v0``).

Layout:

- ``shop/``: the shop itself, independent of how it is browsed: a generated catalogue
  (``catalog.py``), BM25 search (``search.py``), the web app that renders every page as HTML and
  keeps each session's state (``app.py``), the loopback HTTP server around the app
  (``server.py``) and the WebShop-style tasks (``tasks.py``: instructions, reward, splits,
  subgoals).
- ``htmlparse.py`` and ``tree.py``: HTML to accessibility-tree text without a browser, as
  Chromium builds it; ``actions.py``: the action syntax and what an action does to an element;
  ``text_backend.py`` and ``browser_backend.py``: the two ways of browsing a page.
- ``env.py``: the gymnasium env; ``oracle.py``: its expert, reading the observation text.

The contract between the shop and the backends (both must keep it):

1. Pages are plain server-rendered HTML5 in UTF-8 with a ``<title>``, and **no JavaScript**, so a
   browser and the text backend see and do exactly the same things.
2. Every element inside ``<body>`` carries ``data-agid="N"``: 1, 2, 3, ... in document order,
   unique within the page. These are the element ids of the observation (``[12] button 'Buy
   Now'``) and of the actions (``click('12')``). The browser backend numbers pages that lack them
   itself, in the same order.
3. Pages use only: ``header nav main footer section div span p h1 h2 h3 ul ol li strong em br
   a[href] form[method=get|post][action] input[type=text|search|hidden|submit] label select
   option button[type=submit]``; no images, tables or iframes. State changes are navigations:
   links (GET) and form submissions (search: GET; cart and buy: POST answered by a 303 redirect).
4. No cookies (the session is in the URL), GET requests change nothing but the log (going
   back re-requests a page), no CSS that hides or moves content, no labels inside links or
   buttons.
5. The app is called directly by the text backend as
   ``app.handle(method, path_with_query, body) -> (status, headers, body_bytes)`` and through the
   HTTP server by a browser; both give the same bytes.
"""
