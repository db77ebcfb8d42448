package org.openkcm.core.console;

/** Server-rendered pages: escaping and the one layout (no scripts, no external resources). */
final class Html {

  private Html() {}

  static String esc(String s) {
    StringBuilder out = new StringBuilder(s.length() + 16);
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '&' -> out.append("&amp;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }

  static String page(String title, String identity, String body) {
    return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        + "<title>OpenKCM – "
        + esc(title)
        + "</title><style>"
        + "body{font-family:system-ui,sans-serif;max-width:62rem;margin:1.5rem auto;padding:0 1rem;"
        + "line-height:1.4}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #bbb;"
        + "padding:.3rem .6rem;text-align:left}.killed,.error{color:#a00;font-weight:bold}"
        + ".active{color:#060}label{display:block;margin:.4rem 0}input[type=text]{width:24rem}"
        + "nav a{margin-right:1rem}"
        + "</style></head><body><header><nav aria-label=\"main\">"
        + "<a href=\"/console/\">Tenants</a><a href=\"/console/onboard\">Onboard a tenant</a>"
        + "<a href=\"/console/kill-switch\">Kill-switch</a><a href=\"/console/audit\">Audit</a>"
        + "</nav><p>Signed in as <code id=\"identity\">"
        + esc(identity)
        + "</code></p></header><main><h1>"
        + esc(title)
        + "</h1>"
        + body
        + "</main></body></html>";
  }

  static String form(String action, String csrf, String fields, String button) {
    return "<form method=\"post\" action=\""
        + esc(action)
        + "\"><input type=\"hidden\" name=\"csrf\" value=\""
        + esc(csrf)
        + "\">"
        + fields
        + "<button type=\"submit\">"
        + esc(button)
        + "</button></form>";
  }

  static String field(String name, String label, boolean required) {
    return "<label>"
        + esc(label)
        + " <input type=\"text\" name=\""
        + esc(name)
        + "\" id=\""
        + esc(name)
        + "\""
        + (required ? " required" : "")
        + "></label>";
  }
}
