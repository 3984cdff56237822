// The API's HTML pages fill their table from /api/graphql: the table's data-* attributes say
// which query (data-query) with which arguments. No library, no CDN.
(function () {
  'use strict';
  var table = document.getElementById('rows');
  if (!table) return;
  var d = table.dataset;
  var cell = function (text, href) {
    var td = document.createElement('td');
    if (href) {
      var a = document.createElement('a');
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text === null || text === undefined ? '' : String(text);
    }
    return td;
  };
  var when = function (seconds) {
    return seconds
      ? new Date(seconds * 1000)
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, '')
      : '';
  };
  var args = function (pairs) {
    var out = [];
    Object.keys(pairs).forEach(function (key) {
      var v = pairs[key];
      if (v === undefined || v === '') return;
      out.push(key + ': ' + (typeof v === 'string' ? JSON.stringify(v) : String(v)));
    });
    return out.length ? '(' + out.join(', ') + ')' : '';
  };
  var num = function (v) {
    return v === undefined || v === '' ? undefined : Number(v);
  };
  var bool = function (v) {
    return v === undefined || v === '' ? undefined : v === 'true';
  };
  var shardedDir = function (c) {
    var name =
      c.commitHash.slice(0, 2) +
      '/' +
      c.commitHash.slice(2, 4) +
      '/' +
      c.commitHash +
      '_' +
      (c.distroHash || '').slice(0, 8);
    if (c.extendedHash) {
      var e = c.extendedHash;
      name += e.length < 49 ? '_' + e.slice(0, 8) : '_' + e.slice(0, 8) + '_' + e.slice(41, 49);
    }
    return c.component && c.component !== 'None' ? 'component/' + c.component + '/' + name : name;
  };
  var srpmOf = function (artifacts) {
    var srpm = (artifacts || '').split(',').filter(function (a) {
      return /\.src\.rpm$/.test(a);
    })[0];
    var m = srpm ? /([^/]+)-([^-]+)-([^-]+)\.src\.rpm$/.exec(srpm) : null;
    return m ? m[2] + '-' + m[3] : '';
  };
  var queries = {
    civote: {
      query: function () {
        return (
          '{ civote' +
          args({
            commitId: num(d.commitId),
            ciVote: bool(d.ciVote),
            component: d.component,
            ciName: d.ciName,
            offset: num(d.offset),
          }) +
          ' { ciName ciUrl ciVote ciInProgress timestamp notes component commit { commitHash distroHash } } }'
        );
      },
      row: function (v) {
        return [
          cell(v.ciName),
          cell(v.commit ? v.commit.commitHash + '_' + (v.commit.distroHash || '').slice(0, 8) : ''),
          cell(v.component),
          cell(v.ciUrl, v.ciUrl),
          cell(v.ciVote ? 'passed' : 'failed'),
          cell(v.ciInProgress ? 'yes' : 'no'),
          cell(when(v.timestamp)),
          cell(v.notes),
        ];
      },
      failed: function (v) {
        return !v.ciVote;
      },
    },
    civoteAgg: {
      query: function () {
        return (
          '{ civoteAgg' +
          args({ refHash: d.refHash, ciName: d.ciName, ciVote: bool(d.ciVote), offset: num(d.offset) }) +
          ' { refHash ciName ciUrl ciVote ciInProgress timestamp notes } }'
        );
      },
      row: function (v) {
        return [
          cell(v.ciName),
          cell(v.refHash),
          cell(v.ciUrl, v.ciUrl),
          cell(v.ciVote ? 'passed' : 'failed'),
          cell(v.ciInProgress ? 'yes' : 'no'),
          cell(when(v.timestamp)),
          cell(v.notes),
        ];
      },
      failed: function (v) {
        return !v.ciVote;
      },
    },
    commits: {
      query: function () {
        return (
          '{ commits' +
          args({ projectName: d.package, component: d.component, status: d.status, offset: num(d.offset) }) +
          ' { dtBuild dtCommit projectName commitHash distroHash extendedHash component status artifacts } }'
        );
      },
      row: function (c) {
        var dir = (d.baseurl || '').replace(/\/+$/, '') + '/' + shardedDir(c);
        return [
          cell(when(c.dtBuild)),
          cell(when(c.dtCommit)),
          cell(c.projectName),
          cell(srpmOf(c.artifacts)),
          cell(c.commitHash),
          cell(c.component),
          cell(c.status),
          cell('repo', dir),
          cell('build log', dir + '/rpmbuild.log'),
        ];
      },
      failed: function (c) {
        return c.status !== 'SUCCESS';
      },
    },
  };
  var kind = queries[d.query];
  var status = document.getElementById('status');
  fetch('/api/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: kind.query() }),
  })
    .then(function (r) {
      return r.json();
    })
    .then(function (result) {
      if (result.errors) throw new Error(result.errors[0].message);
      var items = result.data[d.query] || [];
      var body = table.tBodies[0];
      items.forEach(function (item) {
        var tr = document.createElement('tr');
        tr.className = kind.failed(item) ? 'failed' : 'success';
        kind.row(item).forEach(function (td) {
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      status.textContent = items.length + ' rows';
      status.id = 'loaded';
    })
    .catch(function (err) {
      status.textContent = 'Error: ' + err.message;
    });
})();
