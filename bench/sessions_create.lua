-- wrk script: creates exactly TOTAL ad sessions with POST requests, then stops (TOTAL >= THREADS).
--
--   wrk -t THREADS -c CONNECTIONS -d 900s --timeout 30s --latency -s bench/sessions_create.lua \
--       http://127.0.0.1:PORT/channels/demo/sessions -- TOTAL THREADS OUT_DIR
--
-- Thread N sends its share of TOTAL (never more: `delay` hands out one request at a time and
-- parks a connection once the share is given out), writes the session ids it was answered
-- with to OUT_DIR/ids-N.txt, and when every answer is in writes OUT_DIR/done-N ("created
-- failed") and stops. wrk's main thread sleeps until -d or SIGINT: the bench script sends
-- SIGINT once every done-N is there.

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

function init(args)
  local total, threads = tonumber(args[1]), tonumber(args[2])
  out_dir = args[3]
  share = math.floor(total / threads) + ((thread_number <= total % threads) and 1 or 0)
  granted, answered, created = 0, 0, 0
  ids = io.open(out_dir .. "/ids-" .. thread_number .. ".txt", "w")
  post = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, "{}")
end

function delay()
  if granted >= share then
    return 24 * 3600 * 1000
  end
  granted = granted + 1
  return 0
end

function request()
  return post
end

function response(status, headers, body)
  answered = answered + 1
  if status == 201 then
    local id = body:match('"session_id"%s*:%s*"(%x+)"')
    if id then
      ids:write(id, "\n")
      created = created + 1
    end
  end
  if answered >= share then
    finish()
  end
end

function finish()
  ids:close()
  local done = io.open(out_dir .. "/done-" .. thread_number, "w")
  done:write(created, " ", answered - created, "\n")
  done:close()
  wrk.thread:stop()
end
