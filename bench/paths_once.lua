-- wrk script: GETs every path listed in a file (one a line) exactly once, then stops.
--
--   wrk -t THREADS -c CONNECTIONS -d 300s --timeout 30s -s bench/paths_once.lua \
--       http://127.0.0.1:PORT -- PATHS_FILE THREADS OUT_DIR
--
-- Thread N takes lines N, N + THREADS, N + 2 THREADS, …; `delay` hands them out one request at
-- a time and parks a connection once they are all given out. When every answer is in, the
-- thread writes OUT_DIR/done-N ("ok failed": 200 answers and the others) and stops. wrk's
-- main thread sleeps until -d or SIGINT: the bench script sends SIGINT once every done-N is
-- there.

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

function init(args)
  local threads = tonumber(args[2])
  out_dir = args[3]
  requests = {}
  local line = 0
  for path in io.lines(args[1]) do
    if path ~= "" then
      if line % threads == thread_number - 1 then
        requests[#requests + 1] = wrk.format("GET", path)
      end
      line = line + 1
    end
  end
  granted, sent, answered, ok = 0, 0, 0, 0
end

function delay()
  if granted >= #requests then
    return 24 * 3600 * 1000
  end
  granted = granted + 1
  return 0
end

-- Called once after each delay that granted a request (not necessarily right after it), and
-- once by wrk on the first thread before the run, to check the request: that call sends
-- nothing and takes no path.
function request()
  if sent >= granted then
    return requests[1]
  end
  sent = sent + 1
  return requests[sent]
end

function response(status, headers, body)
  answered = answered + 1
  if status == 200 then
    ok = ok + 1
  end
  if answered >= #requests then
    local done = io.open(out_dir .. "/done-" .. thread_number, "w")
    done:write(ok, " ", answered - ok, "\n")
    done:close()
    wrk.thread:stop()
  end
end
