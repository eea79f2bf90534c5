import torch, time, resource, json
torch.set_num_threads(1)
reps=15
def med(f):
    for _ in range(3): f()
    ts=[]; pf0=resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(reps):
        t=time.perf_counter(); f(); ts.append((time.perf_counter()-t)*1e3)
    pf=(resource.getrusage(resource.RUSAGE_SELF).ru_minflt-pf0)/reps
    ts.sort(); return "%.3f ms  pf/step %d"%(ts[reps//2],pf)
for shape,axis in [((32,28,28,128),-1),((32,128,28,28),1),((4096,1024),-1),((2,4,4,3),-1)]:
    x=torch.randn(*shape); dy=torch.randn(*shape)
    if len(shape)==4 and axis==-1:
        # channels-last: BatchNorm2d on NHWC memory via permute (channels_last format)
        C=shape[3]; bn=torch.nn.BatchNorm2d(C, momentum=0.01, eps=1e-3)
        xx=x.permute(0,3,1,2); dyy=dy.permute(0,3,1,2)
    elif len(shape)==4:
        C=shape[1]; bn=torch.nn.BatchNorm2d(C, momentum=0.01, eps=1e-3); xx=x; dyy=dy
    else:
        C=shape[1]; bn=torch.nn.BatchNorm1d(C, momentum=0.01, eps=1e-3); xx=x; dyy=dy
    opt=torch.optim.SGD(bn.parameters(), lr=1e-2)
    r={}
    bn.train()
    with torch.no_grad(): r['train']=med(lambda: bn(xx))
    bn.eval()
    with torch.no_grad(): r['infer']=med(lambda: bn(xx))
    bn.train()
    def fg():
        xr=xx.detach().requires_grad_(True)
        l=(bn(xr)*dyy).sum(); torch.autograd.grad(l,[xr,bn.weight,bn.bias])
    r['fwdgrad']=med(fg)
    def step():
        opt.zero_grad(); l=(bn(xx)**2).mean()-1; l.backward(); opt.step()
    r['step']=med(step)
    if shape==(32,28,28,128):
        row=torch.randn(128)
        r['mul']=med(lambda: x*dy); r['add1']=med(lambda: x+1); r['mulrow']=med(lambda: x*row)
        r['exp']=med(lambda: torch.exp(x)); r['sum']=med(lambda: x.sum()); r['mean012']=med(lambda: x.mean((0,1,2)))
    print(shape, axis, json.dumps(r, indent=1))
