// The script editor: CodeMirror 6 from npm (vendored, named by the page's
// import map), with the highlighting of the script's language, line
// numbers, Ctrl/Cmd-S to save, and the server's syntax error at its line.

import { basicSetup, EditorView } from "codemirror";
import { Compartment, EditorState } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { StreamLanguage } from "@codemirror/language";
import { indentWithTab } from "@codemirror/commands";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { shell } from "@codemirror/legacy-modes/mode/shell";

const LANGUAGES = {
  PYTHON: () => python(),
  SHELL: () => StreamLanguage.define(shell),
  JAVASCRIPT: () => javascript(),
};

// The page's Content-Security-Policy admits CodeMirror's <style> element by
// this response's nonce (graphql_api/web.py).
const STYLE_NONCE = document.querySelector('meta[name="scriptbox-style-nonce"]')?.content || "";

/**
 * An editor in `parent`. onChange() after every edit; onSave() on Ctrl/Cmd-S
 * (the browser's own "save page" never opens over it).
 */
export function createEditor(parent, { onChange, onSave }) {
  const language = new Compartment();
  const extensions = (lang) => [
    // Before basicSetup: its keymaps must not see Mod-s first.
    keymap.of([{ key: "Mod-s", preventDefault: true, run: () => (onSave(), true) }, indentWithTab]),
    basicSetup,
    EditorView.cspNonce.of(STYLE_NONCE),
    language.of(LANGUAGES[lang] ? LANGUAGES[lang]() : []),
    lintGutter(),
    EditorView.contentAttributes.of({ "aria-label": "Script content" }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) onChange();
    }),
  ];
  const view = new EditorView({ parent, state: EditorState.create({ doc: "", extensions: extensions(null) }) });

  return {
    view,
    get value() {
      return view.state.doc.toString();
    },
    /** Show another script: its text, its language, a fresh undo history. */
    load(text, lang) {
      view.setState(EditorState.create({ doc: text, extensions: extensions(lang) }));
      parent.dataset.language = lang;
    },
    /** Mark a syntax error at its line (1-based; column too when known). */
    markError(line, column, message) {
      const doc = view.state.doc;
      const at = doc.line(Math.min(Math.max(line, 1), doc.lines));
      const from = column ? Math.min(at.from + column - 1, at.to) : at.from;
      view.dispatch(setDiagnostics(view.state, [{ from, to: at.to, severity: "error", message }]));
      view.dispatch({ effects: EditorView.scrollIntoView(from, { y: "center" }) });
      parent.dataset.errorLine = String(at.number);
    },
    clearErrors() {
      view.dispatch(setDiagnostics(view.state, []));
      delete parent.dataset.errorLine;
    },
    focus() {
      view.focus();
    },
  };
}
