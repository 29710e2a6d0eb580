"""The web environment's text side: tree text from HTML, the action language, the text backend.

No browser here (tests/test_web_browser.py compares against Chromium); the expected texts below
are what Chromium 156's accessibility tree gives for the same HTML after the shared pruning rules.
"""

from __future__ import annotations

import pytest
from web_pages import Served, TinyShop, find_id

from agentgym.envs.web.actions import Action, normalize_url, origin_of, parse_action
from agentgym.envs.web.text_backend import TextBackend, form_urlencode, http_fetch, page_facts
from agentgym.envs.web.htmlparse import parse_html
from agentgym.envs.web.tree import parse_page, render
from agentgym.errors import AgentGymError

ORIGIN = "http://shop.test:8000"


def tree(body: str, title: str = "T") -> str:
    return render(parse_page(f"<!DOCTYPE html><html><head><title>{title}</title></head>"
                             f"<body>{body}</body></html>").lines)


# --------------------------------------------------------------------------- tree text


def test_roles_names_values_and_pruning_on_a_page() -> None:
    page = """<header><nav><a href="/">Home</a> | <a href="/cart">Cart (2)</a></nav></header>
    <main><h1>Search   results</h1>
    <form action="/s"><label for="q">Query</label><input id="q" name="q" value="red shoes">
    <input type="hidden" name="s" value="1"><input type="search" placeholder="Find it">
    <button type="submit">Search <em>now</em></button></form>
    <p>Price: <strong>$12.99</strong><br>next line</p>
    <ul><li>one</li><li><a href="/x">link two</a></li></ul>
    <label>Size <select><option value="s">Small</option><option selected>Large</option></select>
    </label></main><footer>(c) 2024</footer>"""
    assert tree(page, "Shop &amp; Co") == "\n".join([
        "RootWebArea 'Shop & Co'",
        "\t[1] banner", "\t\t[2] navigation", "\t\t\t[3] link 'Home'", "\t\t\tStaticText '|'",
        "\t\t\t[4] link 'Cart (2)'",
        "\t[5] main", "\t\t[6] heading 'Search results'", "\t\t[7] form",
        "\t\t\tStaticText 'Query'", "\t\t\t[9] textbox 'Query' value='red shoes'",
        "\t\t\t[11] searchbox 'Find it'", "\t\t\t[12] button 'Search now'",
        "\t\t[14] paragraph", "\t\t\tStaticText 'Price:'", "\t\t\tStaticText '$12.99'",
        "\t\t\tStaticText 'next line'",
        "\t\t[17] list", "\t\t\t[18] listitem", "\t\t\t\tStaticText 'one'", "\t\t\t[19] listitem",
        "\t\t\t\t[20] link 'link two'",
        "\t\tStaticText 'Size'", "\t\t[22] combobox 'Size' value='Large'",
        "\t\t\t[23] option 'Small'", "\t\t\t[24] option 'Large'",
        "\t[25] contentinfo", "\t\tStaticText '(c) 2024'"])


@pytest.mark.parametrize("body, expected", [
    # accessible names: aria-label > label (even an empty one) > title > placeholder
    ('<input aria-label="AL" placeholder="ph">', "[1] textbox 'AL'"),
    ('<label for="t"></label><input id="t" placeholder="ph">', "[2] textbox"),
    ('<input title="tt" placeholder="ph">', "[1] textbox 'tt'"),
    ('<label for="a">Email</label><label for="a">again</label><input id="a">',
     "[3] textbox 'Email again'"),
    ('<label>Name: <input value="  raw  "> (required)</label>',
     "[2] textbox 'Name: (required)' value='  raw  '"),
    ('<label for="b">lab</label><button id="b">content</button>', "[2] button 'lab'"),
    ('<input type="submit">', "[1] button 'Submit'"),
    ('<input type="submit" value="  Go   now ">', "[1] button 'Go now'"),
    # names from content: inline pieces join without spaces, blocks, <br> and controls with one
    ('<a href="/"><span>in</span><span>line</span> <b>bold</b>&nbsp;nb</a>',
     "[1] link 'inline bold nb'"),
    ('<a href="/"><div>Block A</div><div>Block B</div></a>', "[1] link 'Block A Block B'"),
    ('<button>Btn<br>two</button>', "[1] button 'Btn two'"),
    ('<h1>a<input value="val">b</h1>', "[1] heading 'a val b'"),
    ('<a href="/" aria-label="Go home">content</a>', "[1] link 'Go home'"),
    ('<a href="/" title="Tip"></a>', "[1] link 'Tip'"),
    # select values: the selected option, else the first enabled one; option label attribute
    ('<select><option disabled>A</option><option>B</option></select>',
     "[1] combobox value='B'"),
    ('<select><option label="Lab">x</option></select>', "[1] combobox value='Lab'"),
    # landmarks and their scope
    ('<section><header>h</header></section>', "[2] sectionheader"),
    ('<section aria-label="Reviews"><p>x</p></section>', "[1] region 'Reviews'"),
    ('<div><footer>f</footer></div>', "[2] contentinfo"),
])
def test_names_and_roles_follow_chromium(body: str, expected: str) -> None:
    assert expected in [line.strip() for line in tree(body).splitlines()]


def test_hidden_empty_and_redundant_nodes_are_dropped() -> None:
    text = tree('<div hidden><a href="/h">hidden</a></div><p aria-hidden="true">x</p>'
                '<p></p><p>   </p><ul></ul><form></form><h3></h3>'
                '<input type="hidden" name="h"><a>no href</a> <span>  spaced   out </span>')
    assert text == "RootWebArea 'T'\n\tStaticText 'no href'\n\tStaticText 'spaced out'"


def test_text_node_equal_to_a_landmark_name_is_dropped_but_others_stay() -> None:
    text = tree('<nav aria-label="Pages">Pages</nav><nav aria-label="Pages list">Pages</nav>')
    assert text.splitlines()[1:] == ["\t[1] navigation 'Pages'",
                                     "\t[2] navigation 'Pages list'", "\t\tStaticText 'Pages'"]


def test_parser_closes_implied_end_tags_like_a_browser() -> None:
    body, elements, title = parse_html(
        "<title> A  b </title><ul><li>one<li>two</ul><p>para<div>block</div>"
        "<select><option>x<option>y</select></p>")
    assert title == "A b"
    assert [e.tag for e in elements] == ["ul", "li", "li", "p", "div", "select", "option",
                                        "option", "p"]  # </p> with no open p makes an empty p
    assert [e.agid for e in elements] == [str(n) for n in range(1, 10)]  # numbered: no ids
    assert elements[2].parent is elements[0] and elements[4].parent is body


def test_ids_come_from_data_agid_when_the_page_has_them() -> None:
    page = parse_page('<body><p data-agid="7">a <a href="/" data-agid="9">b</a></p></body>')
    assert not page.numbered and set(page.by_id) == {"7", "9"}
    assert render(page.lines).splitlines() == [
        "RootWebArea", "\t[7] paragraph", "\t\tStaticText 'a'", "\t\t[9] link 'b'"]


def test_parses_are_cached_by_content() -> None:
    html = "<body><p>cached</p></body>"
    assert parse_page(html) is parse_page("".join(["<body><p>cached</p>", "</body>"]))
    assert page_facts(html) is page_facts(html)


def test_render_applies_typed_values() -> None:
    page = parse_page('<body><input><select><option>A</option><option>B</option></select></body>')
    assert render(page.lines, {"1": "typed", "2": "B"}).splitlines()[1:3] == [
        "\t[1] textbox value='typed'", "\t[2] combobox value='B'"]


# --------------------------------------------------------------------------- actions


@pytest.mark.parametrize("text, expected", [
    ("click('12')", Action("click", ("12",))),
    ("click(12)", Action("click", ("12",))),
    ('  click(  "12"  )  ', Action("click", ("12",))),
    ("`click('3')`", Action("click", ("3",))),
    ("fill('5', 'it\\'s \"quoted\"\\n')", Action("fill", ("5", "it's \"quoted\"\n"))),
    ("fill('5', \"red shoes\")", Action("fill", ("5", "red shoes"))),
    ("fill(bid='5', value='x')", Action("fill", ("5", "x"))),
    ("fill('5', 42)", Action("fill", ("5", "42"))),
    ("select_option('7', 'Large')", Action("select_option", ("7", "Large"))),
    ("press('5', 'Enter')", Action("press", ("5", "Enter"))),
    ("scroll(0, -200)", Action("scroll", (0.0, -200.0))),
    ("scroll(0.5, 2e2)", Action("scroll", (0.5, 200.0))),
    ("goto('http://x/')", Action("goto", ("http://x/",))),
    ("go_back()", Action("go_back")), ("go_forward()", Action("go_forward")),
    ("noop()", Action("noop")), ("stop()", Action("stop")),
    ("stop('The answer: 42')", Action("stop", ("The answer: 42",))),
])
def test_parse_valid_actions(text: str, expected: Action) -> None:
    assert parse_action(text) == expected


@pytest.mark.parametrize("text, hint", [
    ("", "empty"), ("   ", "empty"), ("click", "not a call"), ("click('1'", "quotes"),
    ("clik('1')", "Did you mean 'click'"), ("__import__('os').system('ls')", "not a call"),
    ("__import__('os')", "unknown action '__import__'"),
    ("click(__import__('os'))", "plain quoted strings"), ("click(x)", "plain quoted strings"),
    ("click('1' + '2')", "plain quoted strings"), ("click(True)", "plain quoted strings"),
    ("click(-3)", "element id"), ("click(1.5)", "element id"), ("click('a b')", "element id"),
    ("click('')", "element id"), ("fill('5')", "missing its value"),
    ("click('1', '2')", "takes 1 argument"), ("click(bid='1', x=2)", "no (second) argument"),
    ("click(*['1'])", "not allowed"), ("scroll('a', 1)", "number of pixels"),
    ("scroll(0, 1e400)", "number of pixels"), ("click('1'); click('2')", "more than one"),
    ("click('1')\nclick('2')", "more than one"), ("x" * 5000, "longer than"),
    ("(" * 300 + ")" * 300, "not a call"), ("lambda: click('1')", "not a call"),
    ("click\x00('1')", "quotes"), ("os.system('x')", "not a call"),
])
def test_parse_refuses_anything_else_with_a_teaching_message(text: str, hint: str) -> None:
    error = parse_action(text)
    assert isinstance(error, str) and hint in error, error
    assert "click('12')" in error  # every message shows the syntax


def test_parse_never_raises_on_non_strings() -> None:
    assert isinstance(parse_action(None), str)  # type: ignore[arg-type]


def test_urls_are_normalized_like_a_browser() -> None:
    base = "http://Shop.test:80/a/b?x=1"
    assert normalize_url("/search?q=red shoes&n=\"ü\"#f g", base=base) == \
        "http://shop.test/search?q=red%20shoes&n=%22%C3%BC%22#f%20g"
    assert normalize_url("../c/./d", base=base) == "http://shop.test/c/d"
    assert normalize_url("?page=2", base=base) == "http://shop.test/a/b?page=2"
    assert origin_of("HTTP://127.0.0.1:8000/x") == "http://127.0.0.1:8000"
    assert form_urlencode([("q", "a b*~é&=")]) == "q=a+b*%7E%C3%A9%26%3D"


# --------------------------------------------------------------------------- text backend


@pytest.fixture()
def backend() -> TextBackend:
    shop = TinyShop()
    backend = TextBackend(shop.handle, origin=ORIGIN)
    backend.open("/")
    return backend


def ids(backend: TextBackend, line_part: str) -> str:
    """The id of the first line containing ``line_part``."""
    return find_id(backend.observe().text, line_part)


def test_fill_and_enter_submit_a_get_form(backend: TextBackend) -> None:
    box = ids(backend, "searchbox")
    assert backend.act(f"fill('{box}', 'red shoes')") == ""
    assert "value='red shoes'" in backend.observe().text
    assert backend.act(f"press({box}, 'Enter')") == ""
    assert backend.url == f"{ORIGIN}/search?q=red+shoes&src=home"
    assert "link 'Red running shoes'" in backend.observe().text


def test_select_submit_links_post_redirect_and_history(backend: TextBackend) -> None:
    backend.act(f"click('{ids(backend, 'link')}')")  # Home
    backend.act(f"fill('{ids(backend, 'searchbox')}', 'shoes')")
    backend.act(f"click('{ids(backend, 'button')}')")
    assert backend.url == f"{ORIGIN}/search?q=shoes&src=home"
    assert backend.act(f"select_option('{ids(backend, 'combobox')}', 'price_desc')") == ""
    assert "value='Price: high to low'" in backend.observe().text
    backend.act(f"click('{ids(backend, 'Apply')}')")
    assert backend.url == f"{ORIGIN}/search?q=shoes&sort=price_desc"
    backend.act(f"click('{ids(backend, 'Trail shoes')}')")
    quantity = ids(backend, "combobox 'Quantity'")
    backend.act(f"select_option('{quantity}', '3')")
    backend.act(f"click('{ids(backend, 'Add to cart')}')")
    assert backend.url == f"{ORIGIN}/cart"  # POST answered by 303
    assert "Trail shoes, waterproof (size M) × 3" in backend.observe().text
    assert backend.act("go_back()") == ""
    assert backend.url.startswith(f"{ORIGIN}/item/6") and "Cart (1)" in backend.observe().text
    assert "value='3'" in backend.observe().text  # a browser restores what was chosen
    assert backend.act("go_forward()") == "" and backend.url == f"{ORIGIN}/cart"


def test_errors_come_back_as_strings_and_the_backend_keeps_working(backend: TextBackend) -> None:
    heading, box = ids(backend, "heading"), ids(backend, "searchbox")
    assert "No element with id '999'" in backend.act("click('999')")
    assert "needs a text box" in backend.act(f"fill('{heading}', 'x')")
    assert "needs a select" in backend.act(f"select_option('{box}', 'x')")
    assert "Invalid action" in backend.act("click(")
    assert "refused" in backend.act("goto('http://elsewhere.test/')")
    assert "refused" in backend.act("goto('javascript:alert(1)')")
    assert "no previous page" in backend.act("go_back()")
    assert "no next page" in backend.act("go_forward()")
    assert backend.act("scroll(0, 300)") == "" and backend.act("noop()") == ""
    assert backend.act(f"press('{box}', 'a')") == "" and backend.url == f"{ORIGIN}/"
    assert backend.act("goto('/missing')") == ""  # a 404 page is still a page
    assert "Not found" in backend.observe().text
    assert backend.act("goto('/')") == "" and "heading 'Find something & more'" in \
        backend.observe().text


def test_option_errors_and_hidden_or_option_targets() -> None:
    backend = TextBackend(TinyShop().handle, origin=ORIGIN)
    backend.open("/misc")
    colour = ids(backend, "combobox")
    assert "Did you mean 'Red'" in backend.act(f"select_option('{colour}', 'Redd')")
    assert "disabled" in backend.act(f"select_option('{colour}', 'Green')")
    assert backend.act(f"select_option('{colour}', 'blue SKY')") == ""  # case and spaces
    option = ids(backend, "option 'Red'")
    assert f"select_option('{colour}'" in backend.act(f"click('{option}')")
    facts = backend.facts
    hidden = next(a for a, info in facts.infos.items() if info.href == "/secret")
    assert "not visible" in backend.act(f"click('{hidden}')")
    backend.act(f"click('{ids(backend, 'Submit')}')")
    assert backend.url == f"{ORIGIN}/misc?name=++Ann++&c=Blue%C2%A0sky&note=&go=Submit"


def test_redirects_outside_the_origin_are_not_followed() -> None:
    backend = TextBackend(TinyShop(elsewhere="http://other.test").handle, origin=ORIGIN)
    backend.open("/iso")
    error = backend.act(f"click('{ids(backend, 'Redirect to B')}')")
    assert "outside" in error and backend.url == f"{ORIGIN}/iso"
    assert "refused" in backend.act(f"click('{ids(backend, 'a link to B')}')")
    assert "refused" in backend.act(f"click('{ids(backend, 'Send to B')}')")


def test_open_refuses_other_origins_and_broken_fetches() -> None:
    def broken(method: str, target: str, body: bytes):
        raise OSError("connection refused")

    with pytest.raises(AgentGymError, match="only http://shop.test:8000"):
        TextBackend(TinyShop().handle, origin=ORIGIN).open("http://elsewhere.test/")
    with pytest.raises(AgentGymError, match="connection refused"):
        TextBackend(broken, origin=ORIGIN).open("/")
    backend = TextBackend(TinyShop().handle, origin=ORIGIN)
    assert backend.act("click('1')") == "No page is open yet."
    assert backend.observe().text == ""


def test_fragment_links_and_same_url_navigation_fetch_nothing_or_replace(backend) -> None:
    backend.act("goto('/misc')")
    name = ids(backend, "textbox 'Name")
    backend.act(f"fill('{name}', 'Bob')")
    top = ids(backend, "link 'Top'")
    backend.act(f"click('{top}')")
    assert backend.url == f"{ORIGIN}/misc#top" and "value='Bob'" in backend.observe().text
    backend.act("go_back()")
    assert backend.url == f"{ORIGIN}/misc" and "value='Bob'" in backend.observe().text
    backend.act("goto('/misc')")  # the same URL again: a reload, no new history entry
    assert "value='Bob'" not in backend.observe().text
    backend.act("go_back()")
    assert backend.url == f"{ORIGIN}/"


def test_over_http_the_text_backend_sees_what_it_sees_in_process() -> None:
    served = Served(TinyShop().handle)
    try:
        remote = TextBackend(http_fetch(served.origin), origin=served.origin)
        local = TextBackend(TinyShop().handle, origin=served.origin)
        for backend in (remote, local):
            backend.open("/item/3")
            backend.act(f"click('{ids(backend, 'Add to cart')}')")  # POST, then 303
        assert remote.observe() == local.observe()
        assert remote.url == f"{served.origin}/cart" and ("POST", "/cart") in served.hits
    finally:
        served.close()


def test_save_and_load_bring_the_tab_back(backend: TextBackend) -> None:
    import pickle

    box = ids(backend, "searchbox")
    backend.act(f"fill('{box}', 'socks')")
    saved, seen = backend.save(), backend.observe()
    backend.act(f"press('{box}', 'Enter')")
    backend.act(f"click('{ids(backend, 'Red wool socks')}')")
    assert backend.url.startswith(f"{ORIGIN}/item/3")
    backend.load(pickle.loads(pickle.dumps(saved)))
    assert backend.observe() == seen and "value='socks'" in seen.text
    assert "no previous page" in backend.act("go_back()")
    assert backend.act(f"press('{box}', 'Enter')") == ""
    assert backend.url == f"{ORIGIN}/search?q=socks&src=home"
    assert backend.act("go_back()") == "" and "value='socks'" in backend.observe().text
