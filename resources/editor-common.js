/*
 * @gpflow/node-red-greenplum: the code the edit dialogs share.
 *
 * Node-RED serves a module's resources/ folder under resources/<module name>/ (for this
 * scoped package: resources/@gpflow/node-red-greenplum/), and only for a package it loaded
 * as a module: installed with npm or the palette manager, or linked into the userDir's
 * node_modules. Every nodes/<type>.html loads this file first with
 *
 *   <script type="text/javascript" src="resources/@gpflow/node-red-greenplum/editor-common.js"></script>
 *
 * and the editor runs that node's own scripts only after it has loaded (red.js appendConfig),
 * so the definitions below exist when registerType runs. Loading it again (each dialog does)
 * only defines the same functions again. The file is plain browser script: no build step; in
 * Node (tests) it exports the same object.
 *
 * API (global `gpflowEditor`); `type` is the node type, which is also the i18n namespace of
 * the node's locale file (nodes/locales/<lang>/<type>.json):
 *
 *   Template parts, written once, with the node's own texts:
 *     gpflowEditor.expandTemplate(type)     call before RED.nodes.registerType(type, …): replaces
 *                                           each <div data-gpflow-part="NAME"></div> of the
 *                                           type's data-template-name script by that part.
 *     gpflowEditor.expandParts(text, type)  the same on a template's text (pure; for tests).
 *     Parts (their labels are keys of the type's locale file):
 *       name               the Name row (label.name)
 *       config-nodes       a row per config node in data-config ("server", "account database");
 *                          data-<field>-class adds a row class (label.<field>)
 *       db-table           table with the picker of gpflowEditor.dbTablePicker; data-row-class
 *                          (label.table, picker.tablesButton)
 *       transfer-mode      OSS transfer mode auto/client/external; data-row-class (label.mode, mode.*)
 *       gpss-target        schema and table (TypedInputs) with the table and column pickers
 *                          (label.schema, label.table, picker.tablesButton, picker.columnsButton)
 *       gpss-open-options  GPSS Open options: mode, columns, match/update columns, condition,
 *                          error limit, truncate, pre/post SQL, staging schema (label.*, mode.*,
 *                          placeholder.allColumns, placeholder.sameSchema)
 *       gpss-buffer        buffer limit and write size; data-buffer-rows="N" sets the rows
 *                          placeholder (label.buffer, label.rows, label.writeKb)
 *       copy-format        COPY format, delimiter, null, quote/escape (row class <type>-csv),
 *                          header, newline (label.format … label.newline)
 *
 *   Validators (for `defaults`; a value ${ENV_VAR} passes, Node-RED substitutes it at deploy):
 *     gpflowEditor.envOr(v)            true for "${NAME}"
 *     gpflowEditor.number(blankOk)     RED.validators.number, or ${ENV_VAR}
 *     gpflowEditor.regex(re)           RED.validators.regex, or ${ENV_VAR}
 *
 *   In oneditprepare (`node` is `this` there):
 *     gpflowEditor.selectValues(node, keys)      sets <select>s from the node's values as text
 *     gpflowEditor.tabs(node, type, names, fn)   RED.tabs in #<type>-tabs over the panes
 *                                                #<type>-tab-<name> in #<type>-tabs-content,
 *                                                labelled <type>.tabs.<name>; on a change
 *                                                fn(tab) if given, then the SQL editors resize
 *     gpflowEditor.sqlEditors(node, fields)      code editors (ace/monaco, SQL) for the fields:
 *                                                #node-input-<f> (hidden, the saved value),
 *                                                #node-input-<f>-editor, #node-input-<f>-expand
 *     gpflowEditor.sqlSave(node)                 in oneditsave
 *     gpflowEditor.sqlDestroy(node)              in oneditcancel
 *     gpflowEditor.sqlResize(node)               in oneditresize
 *     gpflowEditor.gpssTarget(node, type)        with the gpss-target and gpss-open-options parts:
 *                                                TypedInputs, merge/update rows shown by mode,
 *                                                pickers through the deployed gpss-server
 *                                                (#node-input-server; GET gpflow/gpss/<id>/…)
 *     gpflowEditor.dbTablePicker(node, type)     #gpflow-db-pick-table fills #gpflow-db-table-list
 *                                                from the deployed greenplum-db chosen in
 *                                                #node-input-database (GET gpflow/db/<id>/tables;
 *                                                picker.noDatabase, picker.tables, picker.failed)
 *     gpflowEditor.testButton(node, options)     a config dialog's Test connection button, see below
 *
 * A new dialog uses it like this (nodes/oss-export.html is a whole one):
 *
 *   <script type="text/javascript" src="resources/@gpflow/node-red-greenplum/editor-common.js"></script>
 *   <script type="text/javascript">
 *     gpflowEditor.expandTemplate('my-node');
 *     RED.nodes.registerType('my-node', {
 *       defaults: { database: { value: '', type: 'greenplum-db' }, query: { value: '' },
 *                   limit: { value: 1000, validate: gpflowEditor.number(true) } },
 *       oneditprepare: function () {
 *         gpflowEditor.sqlEditors(this, ['query']);
 *         gpflowEditor.dbTablePicker(this, 'my-node');
 *       },
 *       oneditsave: function () { gpflowEditor.sqlSave(this); },
 *       oneditcancel: function () { gpflowEditor.sqlDestroy(this); },
 *       oneditresize: function () { gpflowEditor.sqlResize(this); }
 *     });
 *   </script>
 *
 * with the SQL field in its template as the markup sqlEditors expects (a hidden
 * #node-input-query, a #node-input-query-editor div, a #node-input-query-expand button) and the
 * texts the helpers name in its locale file. test/editor-common-units.test.js checks every
 * dialog listed in package.json for those texts, editor-resources.test.js that each type
 * registers in the editor with its parts put in.
 */
/* global RED, $ */
'use strict';
var gpflowEditor = (function () {
  // --- template parts -------------------------------------------------------------------

  // A row's class: form-row, and the one the dialog shows/hides it by (data-row-class).
  function rowClass(attrs) { return 'form-row' + (attrs['data-row-class'] ? ' ' + attrs['data-row-class'] : ''); }
  // The config nodes a dialog picks (data-config="server" or "account database"), in order.
  var CONFIG_ICONS = { server: 'fa-server', account: 'fa-cloud', database: 'fa-database' };

  var PARTS = {
    'name': function (ns) {
      return `
  <div class="form-row">
    <label for="node-input-name"><i class="fa fa-tag"></i> <span data-i18n="${ns}.label.name"></span></label>
    <input type="text" id="node-input-name" data-i18n="[placeholder]${ns}.label.name">
  </div>`;
    },
    'config-nodes': function (ns, attrs) {
      return (attrs['data-config'] || '').split(/\s+/).filter(Boolean).map(function (field) {
        var cls = attrs['data-' + field + '-class'] ? ' ' + attrs['data-' + field + '-class'] : '';
        return `
  <div class="form-row${cls}">
    <label for="node-input-${field}"><i class="fa ${CONFIG_ICONS[field] || 'fa-cog'}"></i> <span data-i18n="${ns}.label.${field}"></span></label>
    <input type="text" id="node-input-${field}">
  </div>`;
      }).join('');
    },
    'db-table': function (ns, attrs) {
      return `
  <div class="${rowClass(attrs)}">
    <label for="node-input-table"><i class="fa fa-table"></i> <span data-i18n="${ns}.label.table"></span></label>
    <input type="text" id="node-input-table" placeholder="public.sales" style="width:60%">
    <datalist id="gpflow-db-table-list"></datalist>
    <button type="button" id="gpflow-db-pick-table" class="red-ui-button" data-i18n="[title]${ns}.picker.tablesButton"><i class="fa fa-list"></i></button>
  </div>`;
    },
    'transfer-mode': function (ns, attrs) {
      return `
  <div class="${rowClass(attrs)}">
    <label for="node-input-mode"><i class="fa fa-random"></i> <span data-i18n="${ns}.label.mode"></span></label>
    <select id="node-input-mode" style="width:70%;">
      <option value="auto" data-i18n="${ns}.mode.auto"></option>
      <option value="client" data-i18n="${ns}.mode.client"></option>
      <option value="external" data-i18n="${ns}.mode.external"></option>
    </select>
  </div>`;
    },
    'gpss-target': function (ns) {
      return `
  <div class="form-row">
    <label for="node-input-schema"><i class="fa fa-folder-o"></i> <span data-i18n="${ns}.label.schema"></span></label>
    <input type="text" id="node-input-schema" placeholder="public">
    <input type="hidden" id="node-input-schemaType">
  </div>
  <div class="form-row">
    <label for="node-input-table"><i class="fa fa-table"></i> <span data-i18n="${ns}.label.table"></span></label>
    <input type="text" id="node-input-table" style="width:55%">
    <input type="hidden" id="node-input-tableType">
    <datalist id="gpflow-table-list"></datalist>
    <button id="gpflow-pick-table" class="red-ui-button" data-i18n="[title]${ns}.picker.tablesButton"><i class="fa fa-list"></i></button>
    <button id="gpflow-pick-columns" class="red-ui-button" data-i18n="[title]${ns}.picker.columnsButton"><i class="fa fa-columns"></i></button>
  </div>
  <div class="form-row gpflow-columns-row" style="display:none"><label>&nbsp;</label><span id="gpflow-columns" style="font-size:0.9em; opacity:0.8"></span></div>`;
    },
    'gpss-open-options': function (ns) {
      return `
  <div class="form-row">
    <label for="node-input-mode"><i class="fa fa-random"></i> <span data-i18n="${ns}.label.mode"></span></label>
    <select id="node-input-mode" style="width:70%">
      <option value="insert" data-i18n="${ns}.mode.insert"></option>
      <option value="merge" data-i18n="${ns}.mode.merge"></option>
      <option value="update" data-i18n="${ns}.mode.update"></option>
    </select>
  </div>
  <div class="form-row">
    <label for="node-input-insertColumns"><i class="fa fa-columns"></i> <span data-i18n="${ns}.label.insertColumns"></span></label>
    <input type="text" id="node-input-insertColumns" data-i18n="[placeholder]${ns}.placeholder.allColumns">
  </div>
  <div class="form-row gpflow-keyed">
    <label for="node-input-matchColumns"><i class="fa fa-key"></i> <span data-i18n="${ns}.label.matchColumns"></span></label>
    <input type="text" id="node-input-matchColumns" placeholder="id">
  </div>
  <div class="form-row gpflow-keyed">
    <label for="node-input-updateColumns"><i class="fa fa-pencil"></i> <span data-i18n="${ns}.label.updateColumns"></span></label>
    <input type="text" id="node-input-updateColumns" placeholder="value, updated_at">
  </div>
  <div class="form-row gpflow-keyed">
    <label for="node-input-condition-editor"><i class="fa fa-code"></i> <span data-i18n="${ns}.label.condition"></span></label>
    <button type="button" id="node-input-condition-expand" class="red-ui-button red-ui-button-small" style="float:right"><i class="fa fa-expand"></i></button>
    <input type="hidden" id="node-input-condition">
    <div style="height:50px; min-height:40px;" class="node-text-editor gpflow-sql-editor" id="node-input-condition-editor"></div>
  </div>
  <div class="form-row">
    <label for="node-input-errorLimitCount"><i class="fa fa-exclamation-triangle"></i> <span data-i18n="${ns}.label.errorLimit"></span></label>
    <input type="text" id="node-input-errorLimitCount" placeholder="0" style="width:70px"> <span data-i18n="${ns}.label.rows"></span>
    <input type="text" id="node-input-errorLimitPercentage" placeholder="0" style="width:50px; margin-left:10px"> %
  </div>
  <div class="form-row">
    <label>&nbsp;</label>
    <input type="checkbox" id="node-input-truncate" style="display:inline-block; width:auto; vertical-align:top;">
    <label for="node-input-truncate" style="width:auto;" data-i18n="${ns}.label.truncate"></label>
  </div>
  <div class="form-row">
    <label for="node-input-preSql-editor"><i class="fa fa-code"></i> <span data-i18n="${ns}.label.preSql"></span></label>
    <button type="button" id="node-input-preSql-expand" class="red-ui-button red-ui-button-small" style="float:right"><i class="fa fa-expand"></i></button>
    <input type="hidden" id="node-input-preSql">
    <div style="height:60px; min-height:40px;" class="node-text-editor gpflow-sql-editor" id="node-input-preSql-editor"></div>
  </div>
  <div class="form-row">
    <label for="node-input-postSql-editor"><i class="fa fa-code"></i> <span data-i18n="${ns}.label.postSql"></span></label>
    <button type="button" id="node-input-postSql-expand" class="red-ui-button red-ui-button-small" style="float:right"><i class="fa fa-expand"></i></button>
    <input type="hidden" id="node-input-postSql">
    <div style="height:60px; min-height:40px;" class="node-text-editor gpflow-sql-editor" id="node-input-postSql-editor"></div>
  </div>
  <div class="form-row">
    <label for="node-input-stagingSchema"><i class="fa fa-folder"></i> <span data-i18n="${ns}.label.stagingSchema"></span></label>
    <input type="text" id="node-input-stagingSchema" data-i18n="[placeholder]${ns}.placeholder.sameSchema">
  </div>`;
    },
    'gpss-buffer': function (ns, attrs) {
      var rows = attrs['data-buffer-rows'] || '';
      return `
  <div class="form-row">
    <label for="node-input-bufferRows"><i class="fa fa-inbox"></i> <span data-i18n="${ns}.label.buffer"></span></label>
    <input type="text" id="node-input-bufferRows" placeholder="${rows}" style="width:90px"> <span data-i18n="${ns}.label.rows"></span>
    <input type="text" id="node-input-bufferMb" placeholder="64" style="width:60px; margin-left:10px"> MiB
  </div>
  <div class="form-row">
    <label for="node-input-writeKb"><i class="fa fa-arrows-h"></i> <span data-i18n="${ns}.label.writeKb"></span></label>
    <input type="text" id="node-input-writeKb" placeholder="1024" style="width:90px"> KiB
  </div>`;
    },
    'copy-format': function (ns) {
      return `
  <div class="form-row">
    <label for="node-input-format"><i class="fa fa-file-text-o"></i> <span data-i18n="${ns}.label.format"></span></label>
    <select id="node-input-format" style="width:90px;">
      <option value="csv">CSV</option>
      <option value="text">TEXT</option>
    </select>
    <span data-i18n="${ns}.label.delimiter"></span>
    <input type="text" id="node-input-delimiter" style="width:40px;" placeholder=", or \\t">
    <span data-i18n="${ns}.label.nullString"></span>
    <input type="text" id="node-input-nullString" style="width:60px;">
  </div>
  <div class="form-row ${ns}-csv">
    <label>&nbsp;</label>
    <span data-i18n="${ns}.label.quote"></span>
    <input type="text" id="node-input-quote" style="width:40px;" placeholder="&quot;">
    <span data-i18n="${ns}.label.escape"></span>
    <input type="text" id="node-input-escape" style="width:40px;" placeholder="&quot;">
  </div>
  <div class="form-row">
    <label>&nbsp;</label>
    <input type="checkbox" id="node-input-header" style="display:inline-block; width:auto; vertical-align:top;">
    <label for="node-input-header" style="width:auto;" data-i18n="${ns}.label.header"></label>
    <span style="margin-left:16px;" data-i18n="${ns}.label.newline"></span>
    <select id="node-input-newline" style="width:80px;">
      <option value="LF">LF</option><option value="CRLF">CRLF</option><option value="CR">CR</option>
    </select>
  </div>`;
    }
  };

  var PLACEHOLDER = /[ \t]*<div data-gpflow-part="([\w-]+)"([^>]*)><\/div>/g;

  function expandParts(text, type) {
    return text.replace(PLACEHOLDER, function (_whole, name, rest) {
      var part = PARTS[name];
      if (!part) throw new Error('gpflowEditor: no template part "' + name + '" (in ' + type + ')');
      var attrs = {};
      rest.replace(/([\w-]+)="([^"]*)"/g, function (_m, k, v) { attrs[k] = v; });
      // The part's first line break only keeps the markup readable above.
      return part(type, attrs).replace(/^\n/, '');
    });
  }

  // Node-RED reads the template (script[data-template-name]) each time a dialog opens, and
  // fills the fields from the node before oneditprepare: so the parts go in once, here.
  function expandTemplate(type) {
    var el = document.querySelector('script[data-template-name="' + type + '"]');
    if (!el || typeof el.textContent !== 'string') return;
    el.textContent = expandParts(el.textContent, type);
  }

  // --- validators -----------------------------------------------------------------------

  // Numbers (and the bucket name) may be given as ${ENV_VAR}: Node-RED substitutes such
  // properties at deploy (runtime flows/util.js mapEnvVarProperties), so accept them here.
  function envOr(v) { return typeof v === 'string' && /^\$\{\w+\}$/.test(v.trim()); }
  function orEnv(validator) {
    return function (v, opt) { return envOr(v) || validator.call(this, v, opt); };
  }
  function number(blankOk) { return orEnv(RED.validators.number(blankOk)); }
  function regex(re) { return orEnv(RED.validators.regex(re)); }

  // --- dialog helpers -------------------------------------------------------------------

  function selectValues(node, keys) {
    keys.forEach(function (k) {
      $('#node-input-' + k).val(String(node[k] === undefined ? '' : node[k]));
    });
  }

  // SQL fields in Node-RED's code editor (ace, SQL mode) with an expand button, as the core
  // template node has; the hidden input keeps the value Node-RED saves.
  function sqlEditors(node, fields) {
    node._gpflowSql = {};
    fields.forEach(function (f) {
      var ed = RED.editor.createEditor({ id: 'node-input-' + f + '-editor', mode: 'ace/mode/sql', value: $('#node-input-' + f).val() || '' });
      node._gpflowSql[f] = ed;
      RED.popover.tooltip($('#node-input-' + f + '-expand'), RED._('node-red:common.label.expand'));
      $('#node-input-' + f + '-expand').on('click', function (e) {
        e.preventDefault();
        RED.editor.editText({
          mode: 'sql', value: ed.getValue(), width: 'Infinity', focus: true,
          complete: function (v) { ed.setValue(v, -1); setTimeout(function () { ed.focus(); }, 250); }
        });
      });
    });
  }
  function sqlDestroy(node) {
    Object.keys(node._gpflowSql || {}).forEach(function (f) { node._gpflowSql[f].destroy(); });
    delete node._gpflowSql;
  }
  function sqlSave(node) {
    Object.keys(node._gpflowSql || {}).forEach(function (f) { $('#node-input-' + f).val(node._gpflowSql[f].getValue()); });
    sqlDestroy(node);
  }
  function sqlResize(node) {
    Object.keys(node._gpflowSql || {}).forEach(function (f) { node._gpflowSql[f].resize(); });
  }

  // Tabs, as core nodes with long dialogs have them (10-mqtt.html, 10-function.html).
  function tabs(node, type, names, onchange) {
    var t = RED.tabs.create({
      id: type + '-tabs',
      onchange: function (tab) {
        $('#' + type + '-tabs-content').children().hide();
        $('#' + tab.id).show();
        if (onchange) onchange(tab);
        sqlResize(node);
      }
    });
    names.forEach(function (name) {
      t.addTab({ id: type + '-tab-' + name, label: node._(type + '.tabs.' + name) });
    });
    return t;
  }

  function lookupFailed(node, type) {
    return function (xhr) {
      var r = xhr && xhr.responseJSON;
      RED.notify(node._(type + '.picker.failed') + ' ' + ((r && r.error) || ('HTTP ' + (xhr ? xhr.status : '?'))), 'warning');
    };
  }

  // Table and column pickers: ListTable / DescribeTable through the deployed gpss-server.
  function gpssTarget(node, type) {
    $('#node-input-schema').typedInput({ default: 'str', types: ['str', 'msg', 'flow', 'global', 'env'], typeField: '#node-input-schemaType' });
    $('#node-input-table').typedInput({ default: 'str', types: ['str', 'msg', 'flow', 'global', 'env'], typeField: '#node-input-tableType' });
    var toggleMode = function () {
      $('.gpflow-keyed').toggle($('#node-input-mode').val() !== 'insert');
    };
    $('#node-input-mode').on('change', toggleMode);
    toggleMode();
    var lookup = function (what) {
      return 'gpflow/gpss/' + encodeURIComponent($('#node-input-server').val()) + '/' + what;
    };
    var schema = function () {
      return $('#node-input-schemaType').val() === 'str' ? ($('#node-input-schema').typedInput('value') || 'public') : 'public';
    };
    $('#gpflow-pick-table').on('click', function (e) {
      e.preventDefault();
      $.getJSON(lookup('tables'), { schema: schema() })
        .done(function (tables) {
          var list = $('#gpflow-table-list').empty();
          tables.forEach(function (t) { $('<option>').attr('value', t.name).text(t.type).appendTo(list); });
          $('#node-input-table').typedInput('type', 'str');
          RED.notify(node._(type + '.picker.tables', { count: tables.length }), 'compact');
        })
        .fail(lookupFailed(node, type));
    });
    $('#gpflow-pick-columns').on('click', function (e) {
      e.preventDefault();
      $.getJSON(lookup('columns'), { schema: schema(), table: $('#node-input-table').typedInput('value') })
        .done(function (cols) {
          $('.gpflow-columns-row').show();
          $('#gpflow-columns').text(cols.map(function (c) { return c.name + ' ' + c.databaseType.toLowerCase(); }).join(', '));
        })
        .fail(lookupFailed(node, type));
    });
    $('#node-input-table').attr('list', 'gpflow-table-list');
  }

  // Table picker: the tables of the deployed greenplum-db (the admin endpoint lists them).
  function dbTablePicker(node, type) {
    $('#node-input-table').attr('list', 'gpflow-db-table-list');
    $('#gpflow-db-pick-table').on('click', function (e) {
      e.preventDefault();
      var db = $('#node-input-database').val();
      if (!db || db === '_ADD_') { RED.notify(node._(type + '.picker.noDatabase'), 'warning'); return; }
      $.getJSON('gpflow/db/' + encodeURIComponent(db) + '/tables')
        .done(function (tables) {
          var list = $('#gpflow-db-table-list').empty();
          tables.forEach(function (t) { $('<option>').attr('value', t.schema + '.' + t.name).text(t.type).appendTo(list); });
          RED.notify(node._(type + '.picker.tables', { count: tables.length }), 'compact');
        })
        .fail(lookupFailed(node, type));
    });
  }

  /*
   * Test connection with the values in the dialog, saved or not: a click shows
   * <type>.test.running in options.result, POSTs options.body() as JSON to options.url and
   * shows options.ok(r) for an answer { ok: true, … }, "<type>.test.failed <error>" (plus
   * " (<code>)" with options.showCode) for { ok: false, error, code }, or the HTTP status.
   * options: { type, button, result (selectors), url, body(), ok(r), showCode }.
   */
  function testButton(node, options) {
    var type = options.type;
    $(options.button).on('click', function (e) {
      e.preventDefault();
      var out = $(options.result);
      out.text(node._(type + '.test.running'));
      $.ajax({ url: options.url, type: 'POST', contentType: 'application/json', data: JSON.stringify(options.body()) })
        .done(function (r) {
          if (!r.ok) { out.text(node._(type + '.test.failed') + ' ' + r.error + (options.showCode && r.code ? ' (' + r.code + ')' : '')); return; }
          out.text(options.ok(r));
        })
        .fail(function (xhr) { out.text(node._(type + '.test.failed') + ' HTTP ' + xhr.status); });
    });
  }

  return {
    expandTemplate: expandTemplate,
    expandParts: expandParts,
    partNames: Object.keys(PARTS),
    envOr: envOr,
    number: number,
    regex: regex,
    selectValues: selectValues,
    tabs: tabs,
    sqlEditors: sqlEditors,
    sqlSave: sqlSave,
    sqlDestroy: sqlDestroy,
    sqlResize: sqlResize,
    gpssTarget: gpssTarget,
    dbTablePicker: dbTablePicker,
    testButton: testButton
  };
})();
if (typeof module === 'object' && module.exports) module.exports = gpflowEditor;
